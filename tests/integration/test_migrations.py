"""Migrations are safe to run twice and from two replicas at once."""

import asyncio

import asyncpg

from ots.registry import services
from ots_runtime.migrations import migrate
from ots_runtime.settings import Settings


async def test_migrating_twice_and_concurrently_applies_each_version_once(
    settings: Settings,
) -> None:
    conns = [await asyncpg.connect(settings.database_url) for _ in range(2)]
    try:
        await conns[0].execute("DROP SCHEMA IF EXISTS intake CASCADE")
        entry = services()["intake"]
        results = await asyncio.gather(*(migrate(c, "intake", entry.migrations) for c in conns))
        versions = len(list(entry.migrations.glob("*.sql")))
        assert sorted(len(r) for r in results) == [0, versions]
        assert await migrate(conns[0], "intake", entry.migrations) == []
        assert await conns[0].fetchval("SELECT count(*) FROM intake.schema_migrations") == versions
    finally:
        for c in conns:
            await c.close()
