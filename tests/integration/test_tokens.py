"""One token system for every service, on real NATS and PostgreSQL: `ots tokens create|list|
revoke`, a revocation refused by every service within seconds (also by a replica started after
it), expired and foreign tokens refused with a clear 401, the legacy opaque tokens retired."""

import asyncio
import contextlib
import os
import shutil
import sys
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from nats.aio.client import Client

from ots_runtime.auth import Role
from ots_runtime.migrations import migrate
from ots_runtime.settings import Settings
from services.dispatch.app import create_app as dispatch_app
from services.intake.app import MIGRATIONS as INTAKE_MIGRATIONS
from services.intake.app import create_app as intake_app
from services.metrics.app import create_app as metrics_app
from services.recording.app import create_app as recording_app
from tests.integration.test_recording_fixtures import recording_config
from tests.support import tokens as test_keys
from tests.support.events import eventually, published
from tests.support.http_service import serving
from tests.support.intake import intake_config

PLANS = "/v1/plans?date=2026-12-07"
READS = {  # recording's answer past the token is 404: it knows no such visit
    "intake": "/v1/visits", "dispatch": PLANS,
    "recording": "/v1/visits/v-unknown/enrollments", "metrics": "/v1/reports/services",
}  # fmt: skip


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def ots_tokens(settings: Settings, *args: str, **env: str) -> tuple[int, str, str]:
    """`ots tokens …` as an operator runs it, in a process of its own."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OTS_")} | {
        "OTS_ENV": "test", "OTS_NATS_URL": str(settings.nats_url),
        "OTS_DATABASE_URL": str(settings.database_url),
        **test_keys.ENV, **env,
    }  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ots.cli", "tokens", *args, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def created(settings: Settings, *args: str, **env: str) -> tuple[str, str]:
    """(token id, token) of `ots tokens create ARGS`."""
    code, out, err = await ots_tokens(settings, "create", *args, **env)
    assert code == 0, err
    return err.split()[1], out.strip()


async def test_tokens_are_listed_with_their_dates_and_never_shown_again(
    settings: Settings,
) -> None:
    agency_id, agency = await created(
        settings, "--role", "agency", "--agency", "Dinas Sosial Jember", "--label", "partner"
    )
    viewer_id, viewer = await created(
        settings, "--role", "viewer", "--agency", "dispendukcapil", OTS_TOKEN_TTL_DAYS="7"
    )
    code, listing, _ = await ots_tokens(settings, "list")
    assert code == 0
    header, *rows = listing.splitlines()
    assert header.split() == ["id", "role", "agency", "label", "created", "expires", "revoked"]
    by_id = {row.split()[0]: row for row in rows}
    assert set(by_id) == {agency_id, viewer_id}
    assert "agency  Dinas Sosial Jember  partner" in by_id[agency_id]
    assert agency not in listing and viewer not in listing


async def test_tokens_expire_after_ninety_days_unless_configured(
    settings: Settings, db: asyncpg.Pool
) -> None:
    default_id, _ = await created(settings, "--role", "operator", "--agency", "dispendukcapil")
    week_id, _ = await created(
        settings, "--role", "viewer", "--agency", "dispendukcapil", OTS_TOKEN_TTL_DAYS="7"
    )
    day_id, _ = await created(
        settings, "--role", "viewer", "--agency", "dispendukcapil", "--ttl-days", "1"
    )
    lifetimes = dict(
        await db.fetch("SELECT token_id, expires_at - created_at FROM intake.api_tokens")
    )
    assert lifetimes == {
        default_id: timedelta(days=90),
        week_id: timedelta(days=7),
        day_id: timedelta(days=1),
    }


async def test_a_revoked_token_is_refused_by_every_service_within_seconds(
    settings: Settings, nc: Client
) -> None:
    token_id, token = await created(settings, "--role", "operator", "--agency", "dispendukcapil")
    async with contextlib.AsyncExitStack() as stack:
        apps = {
            "intake": intake_app(settings, intake_config()), "dispatch": dispatch_app(settings),
            "recording": recording_app(settings, recording_config()),
            "metrics": metrics_app(settings),
        }  # fmt: skip
        clients = {
            name: await stack.enter_async_context(serving(app)) for name, app in apps.items()
        }

        async def answers() -> dict[str, httpx.Response]:
            return {
                name: await client.get(READS[name], headers=bearer(token))
                for name, client in clients.items()
            }

        before = await answers()
        loop = asyncio.get_running_loop()
        code, said, err = await ots_tokens(settings, "revoke", token_id)
        assert code == 0, err
        assert f"token {token_id} revoked" in said
        revoked_at = loop.time()
        after: dict[str, httpx.Response] = {}

        async def everywhere_refused() -> bool:
            after.update(await answers())
            return all(answer.status_code == 401 for answer in after.values())

        await eventually(everywhere_refused, within=15)
        print(f"revocation refused by all four services {loop.time() - revoked_at:.2f} s after")
    assert {name: a.status_code for name, a in before.items()} == {
        "intake": 200, "dispatch": 200, "recording": 404, "metrics": 200,
    }  # fmt: skip
    [event] = await published(nc, "ots.token.revoked", expect=1)
    assert event["data"]["token_id"] == token_id
    for answer in after.values():
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["detail"] == "the bearer token has been revoked"


async def test_a_revocation_made_while_intake_is_down_reaches_replicas_started_later(
    settings: Settings, nc: Client
) -> None:
    token_id, token = await created(settings, "--role", "viewer", "--agency", "dispendukcapil")
    _, kept = await created(settings, "--role", "viewer", "--agency", "dispendukcapil")
    assert (await ots_tokens(settings, "revoke", token_id))[0] == 0  # kept in intake's outbox
    # intake's relay publishes it on start
    async with serving(intake_app(settings, intake_config())) as intake:
        refused_at_once = await intake.get("/v1/visits", headers=bearer(token))  # its register
        await published(nc, "ots.token.revoked", expect=1)
    assert refused_at_once.status_code == 401
    async with serving(metrics_app(settings)) as metrics:  # a replica started afterwards
        first = await metrics.get("/v1/reports/services", headers=bearer(token))
        other = await metrics.get("/v1/reports/services", headers=bearer(kept))
    assert first.status_code == 401 and "revoked" in first.json()["detail"]
    assert other.status_code == 200


async def test_revoking_twice_publishes_once_and_an_unknown_id_is_an_error(
    settings: Settings, nc: Client
) -> None:
    token_id, _ = await created(settings, "--role", "agency", "--agency", "Kecamatan Kencong")
    async with serving(intake_app(settings, intake_config())):
        assert (await ots_tokens(settings, "revoke", token_id))[0] == 0
        assert (await ots_tokens(settings, "revoke", token_id))[0] == 0
        events = await published(nc, "ots.token.revoked", expect=1)
        code, _, err = await ots_tokens(settings, "revoke", "tok-nobody")
    assert len(events) == 1
    assert code == 1 and "no token tok-nobody" in err


@pytest.mark.parametrize(
    "authorization, detail",
    [
        (None, "a bearer token is required"),
        ("Basic dXNlcjpwYXNz", "a bearer token is required"),
        ("Bearer ots_opaque-token-of-before", "the bearer token is not an OTS token"),
        ("Bearer tökén", "the bearer token is not an OTS token"),
    ],
    ids=["none", "basic", "opaque", "non-ascii"],
)
async def test_every_service_refuses_a_missing_or_foreign_token_with_401_saying_why(
    settings: Settings, authorization: str | None, detail: str
) -> None:
    headers = {"Authorization": authorization.encode("latin-1")} if authorization else {}
    async with serving(dispatch_app(settings)) as dispatch, serving(metrics_app(settings)) as m:
        answers = [
            await dispatch.get(PLANS, headers=headers),  # type: ignore[arg-type]
            await m.get("/v1/reports/services", headers=headers),  # type: ignore[arg-type]
        ]
    for answer in answers:
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["www-authenticate"] == 'Bearer realm="ots"'
        assert detail in answer.json()["detail"]


async def test_an_expired_token_is_401_saying_it_expired(settings: Settings) -> None:
    expired = test_keys.signed_token(Role.OPERATOR, valid_for=timedelta(seconds=-1))
    async with serving(intake_app(settings, intake_config())) as intake:
        answer = await intake.get("/v1/visits", headers=bearer(expired))
    assert answer.status_code == 401
    assert answer.json()["detail"] == "the bearer token has expired; ask an operator for a new one"


async def test_a_service_without_public_keys_outside_development_refuses_to_start(
    settings: Settings,
) -> None:
    bare = settings.model_copy(update={"token_public_keys": None, "token_signing_key": None})
    for make in (intake_app, dispatch_app, metrics_app, recording_app):
        with pytest.raises(RuntimeError, match="OTS_TOKEN_PUBLIC_KEYS must be set"):
            make(bare, recording_config()) if make is recording_app else make(bare)


async def test_the_opaque_tokens_of_before_are_kept_for_the_record_and_revoked(
    settings: Settings, db: asyncpg.Pool, tmp_path: Path
) -> None:
    before = tmp_path / "before"
    before.mkdir()
    for path in sorted(INTAKE_MIGRATIONS.glob("*.sql")):
        if path.name < "007":
            shutil.copy(path, before / path.name)
    async with db.acquire() as conn:
        await conn.execute("DROP SCHEMA intake CASCADE")
        await migrate(conn, "intake", before)
        await conn.execute(
            "INSERT INTO intake.api_tokens (token_hash, role, agency, label) VALUES "
            "('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'agency', "
            "'Dinas Sosial Jember', 'partner')"
        )
        assert await migrate(conn, "intake", INTAKE_MIGRATIONS) == ["007_signed_tokens"]
    code, listing, _ = await ots_tokens(settings, "list")
    assert code == 0
    [legacy] = listing.splitlines()[1:]
    token_id, role, *_, revoked = legacy.split()
    assert (token_id, role) == ("legacy-9f86d081884c7d65", "agency")
    assert revoked != "-"
