"""Inbox rows and idempotency keys go once older than the retention; recent ones keep working."""

import asyncio
import logging
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from ots.registry import MODULES
from ots_runtime.consumer import claim_inbox
from ots_runtime.pruning import INBOX, prune_once, run_pruner
from tests.integration.intake_fixtures import Tokens, bearer, intake, tokens
from tests.support.requests import a_home_visit

__all__ = ["intake", "tokens"]

WEEK = timedelta(days=7)
CONSUMER = "some-durable"


async def age(db: asyncpg.Pool, table: str, column: str, days: float, where: str) -> None:
    await db.execute(
        f"UPDATE {table} SET {column} = now() - $1::interval WHERE {where}", timedelta(days=days)
    )


async def claim(db: asyncpg.Pool, schema: str, *event_ids: str) -> set[str]:
    async with db.acquire() as conn:
        return await claim_inbox(conn, schema, CONSUMER, event_ids)


@pytest.mark.parametrize("schema", sorted(MODULES))
async def test_old_inbox_rows_go_and_a_recent_event_is_still_a_repeat(
    db: asyncpg.Pool, schema: str
) -> None:
    old = [f"old-{n}" for n in range(7)]
    recent = [f"recent-{n}" for n in range(3)]
    assert await claim(db, schema, *old, *recent) == {*old, *recent}
    await age(db, f"{schema}.inbox", "processed_at", 8, "event_id LIKE 'old-%'")
    await age(db, f"{schema}.inbox", "processed_at", 6, "event_id = 'recent-0'")

    assert await prune_once(db, schema, WEEK, batch=3) == {
        "inbox": 7,
        **({"idempotency_keys": 0} if schema == "intake" else {}),
    }

    assert await claim(db, schema, *recent) == set(), "recent events are still repeats"
    assert await claim(db, schema, old[0]) == {old[0]}, "an old one is forgotten"
    assert await db.fetchval(f"SELECT count(*) FROM {schema}.inbox") == len(recent) + 1


async def test_only_the_tables_the_caller_names_are_pruned(db: asyncpg.Pool) -> None:
    await claim(db, "intake", "old")
    await age(db, "intake.inbox", "processed_at", 30, "true")
    assert await prune_once(db, "intake", WEEK, tables=()) == {}
    assert await prune_once(db, "intake", WEEK, tables=(INBOX,)) == {"inbox": 1}


async def post_visit(intake: httpx.AsyncClient, token: str, body: dict[str, Any], key: str
                     ) -> httpx.Response:  # fmt: skip
    headers = bearer(token) | {"Idempotency-Key": key}
    return await intake.post("/v1/visits", json=body, headers=headers)


async def test_a_recent_idempotency_key_still_replays_and_an_old_one_is_gone(
    db: asyncpg.Pool, intake: httpx.AsyncClient, tokens: Tokens
) -> None:
    recent_body, recent_key = a_home_visit(), str(uuid.uuid4())
    old_key = str(uuid.uuid4())
    first = await post_visit(intake, tokens.agency, recent_body, recent_key)
    assert (await post_visit(intake, tokens.agency, a_home_visit(), old_key)).status_code == 201
    await age(db, "intake.idempotency_keys", "created_at", 8, f"key = '{old_key}'")

    pruned = await prune_once(db, "intake", WEEK)

    assert pruned["idempotency_keys"] == 1
    again = await post_visit(intake, tokens.agency, recent_body, recent_key)
    assert first.status_code == again.status_code == 201
    assert again.json()["visit_id"] == first.json()["visit_id"]
    keys = await db.fetch("SELECT key FROM intake.idempotency_keys")
    assert [row["key"] for row in keys] == [recent_key]


class DatabaseAwayOnce:
    """A pool whose first look-up fails as if PostgreSQL were restarting."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool, self.failures = pool, 0

    async def fetch(self, *args: Any) -> Any:
        if not self.failures:
            self.failures += 1
            raise ConnectionRefusedError("database away")
        return await self._pool.fetch(*args)

    def acquire(self) -> Any:
        return self._pool.acquire()


async def test_the_pruner_survives_a_database_outage_and_stops_when_told(
    db: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    await claim(db, "metrics", "old")
    await age(db, "metrics.inbox", "processed_at", 8, "true")
    stop, flaky = asyncio.Event(), DatabaseAwayOnce(db)
    caplog.set_level(logging.INFO, logger="ots_runtime.pruning")

    pruner = asyncio.create_task(run_pruner(flaky, "metrics", WEEK, stop, interval=0.05))
    for _ in range(200):
        if not await db.fetchval("SELECT count(*) FROM metrics.inbox"):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(pruner, 5)

    assert flaky.failures == 1
    assert "pruning metrics failed" in caplog.text
    assert "pruned metrics older than 168 h: inbox 1" in caplog.text
