"""Two metrics replicas share the aggregates consumer: neither loses what the other wrote."""

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from pydantic import BaseModel

from contracts import events as ev
from services.metrics.adapters import store
from services.metrics.adapters.snapshot import _open_visits
from services.metrics.domain import catalogue as cat
from services.metrics.domain.batch import Batch
from services.metrics.domain.visits import VisitFacts

VISIT = "visit-new-1"
REQUESTED_AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
COMPLETED_AT = REQUESTED_AT + timedelta(hours=5)
WAITED = (COMPLETED_AT - REQUESTED_AT).total_seconds()


def requested() -> ev.VisitRequested:
    return ev.VisitRequested.model_validate({
        "visit_id": VISIT, "requester": {"agency_type": "dinsos", "agency_name": "Dinsos"},
        "venue": {"type": "school", "name": "SDN 1", "kecamatan_code": "350921",
                  "lat": -8.17, "lon": 113.7},
        "services": ["ktp_el_recording"], "expected_people": 30, "priority": "urgent",
        "window": {"earliest": "2026-03-03", "latest": "2026-03-10"},
    })  # fmt: skip


def completed() -> ev.VisitCompleted:
    return ev.VisitCompleted(
        visit_id=VISIT, team_id="team-01", venue_type="school", kecamatan_code="350921",
        people_recorded=28, people_absent=2, services_delivered=28,
    )  # fmt: skip


def batch_of(*events: tuple[datetime, BaseModel]) -> Batch:
    batch = Batch()
    for time, data in events:
        batch.add(time, data)
    return batch


BATCHES: dict[str, Callable[[], Batch]] = {
    "requested": lambda: batch_of((REQUESTED_AT, requested())),
    "completed": lambda: batch_of((COMPLETED_AT, completed())),
}


async def counter(db: asyncpg.Pool, metric: str, *labels: str) -> float | None:
    value: float | None = await db.fetchval(
        "SELECT value FROM metrics.counters WHERE metric = $1 AND labels = $2",
        metric,
        json.dumps(list(labels)),
    )
    return value


async def waits_for_a_lock(db: asyncpg.Pool, pid: int) -> None:
    for _ in range(500):
        if await db.fetchval(
            "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $1", pid
        ):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the second replica never waited for the first")


async def apply_committed(conn: asyncpg.Connection, batch: Batch) -> None:
    async with conn.transaction():
        await store.apply(conn, batch)


@pytest.mark.parametrize("first", ["requested", "completed"])
async def test_two_replicas_first_seeing_one_new_visit_merge_their_facts(
    db: asyncpg.Pool, first: str
) -> None:
    """Replica A settles its fact of a visit no row holds yet and keeps its transaction open;
    replica B settles the other fact meanwhile. B must build on A's facts, not on nothing."""
    second = "completed" if first == "requested" else "requested"
    async with db.acquire() as a, db.acquire() as b:
        transaction = a.transaction()
        await transaction.start()
        await store.apply(a, BATCHES[first]())
        replica_b = asyncio.create_task(apply_committed(b, BATCHES[second]()))
        await waits_for_a_lock(db, b.get_server_pid())
        assert not replica_b.done()
        await transaction.commit()
        await replica_b
    row = await db.fetchrow("SELECT * FROM metrics.visits WHERE visit_id = $1", VISIT)
    assert (row["priority"], row["requested_at"], row["completed_at"]) == (
        "urgent", REQUESTED_AT, COMPLETED_AT,
    )  # fmt: skip
    assert row["completion_observed"] and row["status"] == "completed"
    assert await counter(db, cat.VISITS_COMPLETED.name, "school", "350921") == 1
    histogram = cat.REQUEST_TO_COMPLETION.name
    assert await counter(db, f"{histogram}_count", "urgent") == 1
    assert await counter(db, f"{histogram}_sum", "urgent") == WAITED


async def test_the_empty_row_made_to_lock_a_new_visit_is_no_visit_at_all(
    db: asyncpg.Pool,
) -> None:
    """Settled as no row would be, and counted in no open-visits gauge, even where it shows."""
    async with db.acquire() as conn, conn.transaction():
        assert await store._lock_visits(conn, [VISIT]) == {VISIT: VisitFacts()}
        assert await _open_visits(conn) == {}


def team(version: int, start: str, end: str) -> ev.TeamUpdated:
    return ev.TeamUpdated(
        team_id="team-01", name="Tim 1", base=ev.GeoPoint(lat=-8.17, lon=113.7), kits=["biometric"],
        shift=ev.Shift(start=start, end=end), working_days=["mon"], max_people_per_day=50,
        version=version,
    )  # fmt: skip


async def shift_of(db: asyncpg.Pool) -> tuple[int, int]:
    row = await db.fetchrow("SELECT version, shift_minutes FROM metrics.team_shifts")
    return row["version"], row["shift_minutes"]


async def test_a_newer_team_update_wins_over_an_older_one_arriving_after_it(
    db: asyncpg.Pool,
) -> None:
    newer, older = team(2, "07:00", "16:00"), team(1, "08:00", "15:00")
    # The older update carries the later event time: two intake relays, two clocks.
    for time, data in ((REQUESTED_AT, newer), (REQUESTED_AT + timedelta(minutes=1), older)):
        async with db.acquire() as conn, conn.transaction():
            await store.apply(conn, batch_of((time, data)))
    assert await shift_of(db) == (2, 9 * 60)
    both = batch_of((REQUESTED_AT + timedelta(minutes=1), older), (REQUESTED_AT, newer))
    assert both.shifts["team-01"].version == 2


async def test_unversioned_team_updates_still_keep_the_latest_event(db: asyncpg.Pool) -> None:
    later, earlier = team(0, "07:00", "16:00"), team(0, "08:00", "15:00")
    for time, data in ((REQUESTED_AT + timedelta(minutes=1), later), (REQUESTED_AT, earlier)):
        async with db.acquire() as conn, conn.transaction():
            await store.apply(conn, batch_of((time, data)))
    assert await shift_of(db) == (0, 9 * 60)
