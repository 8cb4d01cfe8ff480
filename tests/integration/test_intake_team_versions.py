"""Each ots.team.updated carries the team's next version, in the order updates commit."""

import asyncio
import json
from typing import Any

import asyncpg

from ots_runtime.db import in_transaction
from services.intake.fleet import TeamBody, list_rows, put_team
from tests.support.requests import a_team


def body(people: int) -> TeamBody:
    return TeamBody.model_validate(a_team() | {"max_people_per_day": people})


async def put(db: asyncpg.Pool, people: int) -> dict[str, Any]:
    return await in_transaction(db, lambda conn: put_team(conn, "t1", body(people)))


async def published_teams(db: asyncpg.Pool) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT body FROM intake.outbox WHERE subject = 'ots.team.updated' ORDER BY seq"
    )
    return [json.loads(r["body"])["data"] for r in rows]


async def test_each_update_of_a_team_publishes_the_next_version(db: asyncpg.Pool) -> None:
    for people in (50, 40, 30):
        shown = await put(db, people)
        assert shown["max_people_per_day"] == people
    assert [(t["version"], t["max_people_per_day"]) for t in await published_teams(db)] == [
        (1, 50), (2, 40), (3, 30),
    ]  # fmt: skip
    async with db.acquire() as conn:
        listed = await list_rows(conn, "teams")
    assert [(t["version"], t["max_people_per_day"]) for t in listed] == [(3, 30)]
    assert await db.fetchval("SELECT version FROM intake.teams WHERE team_id = 't1'") == 3


async def test_concurrent_updates_of_a_new_team_get_distinct_versions(db: asyncpg.Pool) -> None:
    """Two intake replicas updating at once: the last committed carries the highest version."""
    shown = await asyncio.gather(*(put(db, people) for people in (10, 20, 30, 40)))
    assert sorted(s["version"] for s in shown) == [1, 2, 3, 4]
    newest = max(shown, key=lambda s: s["version"])
    async with db.acquire() as conn:
        (stored,) = await list_rows(conn, "teams")
    assert stored == newest
