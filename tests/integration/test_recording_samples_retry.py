"""A batch applied again after its connection was lost during COMMIT (as in a database failover),
on the folder store: the commit took effect all the same, so the retry finds the messages
already claimed, and every object a committed row names must still be there. A message that
comes again still leaves no object of its own behind."""

import contextlib
import dataclasses
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from nats.aio.client import Client

from ots.simulate.tablet import SimulatedDevice, publish
from ots_runtime.consumer import claim_inbox
from ots_runtime.settings import Settings
from services.recording.app import create_app
from services.recording.config import RecordingSettings
from services.recording.gateway import consumer
from services.recording.samples.keys import unsealed_parts
from services.recording.samples.store import SampleStore, open_store
from tests.integration.test_recording_fixtures import (
    eventually,
    gateway_drained,
    prepare,
    recording_config,
)
from tests.support.events import published
from tests.support.http_service import serving

PEOPLE = 2


@dataclasses.dataclass
class LostCommitAnswer:
    """Once armed, the next COMMIT of a gateway batch takes effect, and then its connection
    drops before the client hears so: the client sees what asyncpg raises for a connection
    closed in the middle of an operation."""

    armed: bool = False
    holding: int | None = None  # the server pid of the connection applying the batch
    lost: int = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        execute = asyncpg.Connection.execute

        async def claiming(conn: asyncpg.Connection, *args: Any) -> set[str]:
            if self.armed and not self.lost:
                self.holding = conn.get_server_pid()
            return await claim_inbox(conn, *args)

        async def executing(conn: asyncpg.Connection, query: str, *args: Any, **kw: Any) -> str:
            result: str = await execute(conn, query, *args, **kw)
            if self.holding is None or conn.get_server_pid() != self.holding:
                return result
            self.holding = None
            if query == "COMMIT;":
                self.lost += 1
                conn.terminate()
                raise asyncpg.exceptions.ConnectionDoesNotExistError(
                    "connection was closed in the middle of operation"
                )
            return result

        monkeypatch.setattr(consumer, "claim_inbox", claiming)
        monkeypatch.setattr(asyncpg.Connection, "execute", executing)


@pytest.fixture
def config(tmp_path: Path) -> RecordingSettings:
    return recording_config(samples_url=f"file://{tmp_path / 'samples'}")


@pytest.fixture
def samples(config: RecordingSettings) -> SampleStore:
    return open_store(config.samples_location())


@contextlib.asynccontextmanager
async def recording(settings: Settings, config: RecordingSettings) -> AsyncIterator[None]:
    """The service in the test's loop. Once stopped, the objects it was deleting after its
    last commits are deleted."""
    async with serving(create_app(settings.model_copy(update={"recording_port": 0}), config)):
        yield


async def stored(samples: SampleStore, visit_id: str) -> set[str]:
    return {o.key for page in [p async for p in samples.listing(visit_id)] for o in page}


async def opened(
    db: asyncpg.Pool, samples: SampleStore, config: RecordingSettings, visit_id: str
) -> dict[str, str]:
    """Capture id → the SHA-256 of its sample, read back from the store and unsealed."""
    rows = await db.fetch(
        "SELECT capture_id, sample_key, key_id FROM recording.captures WHERE visit_id = $1",
        visit_id,
    )
    keyring, found = config.keyring(), {}
    for row in rows:
        assert row["sample_key"] in await stored(samples, visit_id), "a row names a lost object"
        blob = await samples.get(row["sample_key"])
        sample = keyring.open(unsealed_parts(row["key_id"], blob), bound_to=row["capture_id"])
        found[row["capture_id"]] = hashlib.sha256(sample).hexdigest()
    return found


async def named(db: asyncpg.Pool, visit_id: str) -> set[str]:
    rows = await db.fetch(
        "SELECT sample_key FROM recording.captures WHERE visit_id = $1 AND sample_key IS NOT NULL",
        visit_id,
    )
    return {r["sample_key"] for r in rows}


async def test_a_commit_that_took_effect_unheard_keeps_every_object_its_rows_name(
    settings: Settings, nc: Client, db: asyncpg.Pool, config: RecordingSettings,
    samples: SampleStore, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    lost_answer = LostCommitAnswer()
    lost_answer.install(monkeypatch)
    device = SimulatedDevice("gw-team07-01")
    async with recording(settings, config):
        visit_id, niks = await prepare(nc, db, device, people=PEOPLE)
        captures = [m for nik in niks for m in device.full_recording(visit_id, nik)]
        lost_answer.armed = True
        await publish(nc.jetstream(), captures)
        await eventually(lambda: gateway_drained(nc))

    assert lost_answer.lost == 1
    assert await opened(db, samples, config, visit_id) == {
        m.data["capture_id"]: m.data["sha256"] for m in captures
    }
    assert await stored(samples, visit_id) == await named(db, visit_id)
    assert await published(nc, "ots.dlq.>", expect=1, within=0.5) == []


async def test_a_message_that_comes_again_leaves_no_object_of_its_own_behind(
    settings: Settings, nc: Client, db: asyncpg.Pool, config: RecordingSettings,
    samples: SampleStore,
) -> None:  # fmt: skip
    device = SimulatedDevice("gw-team07-01")
    async with recording(settings, config):
        visit_id, niks = await prepare(nc, db, device, people=1)
        [capture] = device.full_recording(visit_id, niks[0])[:1]
        await publish(nc.jetstream(), [capture])
        await eventually(lambda: gateway_drained(nc))
        # resent by the device, whose answer was lost: JetStream takes it as a new message
        await nc.jetstream().publish(capture.subject, capture.body,
                                     headers={"Nats-Msg-Id": f"{capture.msg_id}-again"})  # fmt: skip
        await eventually(lambda: gateway_drained(nc))

    assert await opened(db, samples, config, visit_id) == {
        capture.data["capture_id"]: capture.data["sha256"]
    }
    assert await stored(samples, visit_id) == await named(db, visit_id)


async def test_each_statement_of_a_batch_with_samples_is_cut_off_well_within_the_sweepers_grace(
    settings: Settings, nc: Client, db: asyncpg.Pool, config: RecordingSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The sweeper takes an object written a grace ago that no row names for unneeded: a batch
    checks that it commits within half of it, and its COMMIT may then take a quarter at most."""
    bounds: list[int] = []

    async def claiming(conn: asyncpg.Connection, *args: Any) -> set[str]:
        bounds.append(await conn.fetchval(
            "SELECT setting::int FROM pg_settings WHERE name = 'statement_timeout'"
        ))  # fmt: skip
        return await claim_inbox(conn, *args)

    monkeypatch.setattr(consumer, "claim_inbox", claiming)
    device = SimulatedDevice("gw-team07-01")
    async with recording(settings, config):
        visit_id, niks = await prepare(nc, db, device, people=1)
        await publish(nc.jetstream(), device.full_recording(visit_id, niks[0]))
        await eventually(lambda: gateway_drained(nc))

    assert bounds, "no batch was applied"
    assert all(0 < ms <= config.samples_sweep_grace_seconds / 4 * 1000 for ms in bounds)
