"""Dispatch under two replicas of every service: the newest team wins, and one planner plans."""

import asyncio
import threading
from datetime import date, datetime, timedelta
from typing import TypeVar

import asyncpg
from pydantic import BaseModel

from contracts import CloudEvent, EventSpec, envelope
from contracts.events import TeamUpdated, VisitCancelled, VisitCompleted
from contracts.subjects import TEAM_UPDATED, VISIT_CANCELLED, VISIT_COMPLETED
from services.dispatch.adapters.haversine import HaversineProvider
from services.dispatch.adapters.vroom_solver import VroomSolver
from services.dispatch.domain.clock import at
from services.dispatch.domain.config import PlannerConfig
from services.dispatch.domain.routing import RoutingProblem, RoutingSolution
from services.dispatch.handlers import on_team_updated, on_visit_cancelled, on_visit_completed
from services.dispatch.planning import Planner, Tuning
from tests.integration.test_dispatch_service import mark_changed, team

SUNDAY, MONDAY = date(2026, 12, 6), date(2026, 12, 7)
BEFORE_MIDNIGHT = at(SUNDAY, 24 * 60) - timedelta(seconds=1)  # 23:59:59 WIB
AFTER_MIDNIGHT = at(MONDAY, 0) + timedelta(seconds=1)  # 00:00:01 WIB, the next day
D = TypeVar("D", bound=BaseModel)


def event(spec: EventSpec, data: D) -> CloudEvent[D]:
    return envelope(data, type_=spec.type, source="ots/intake", subject=None)


async def team_row(db: asyncpg.Pool) -> tuple[int, int]:
    row = await db.fetchrow("SELECT version, body FROM dispatch.teams WHERE team_id = 't1'")
    return row["version"], TeamUpdated.model_validate_json(row["body"]).max_people_per_day


async def dirty(db: asyncpg.Pool) -> int:
    return int(await db.fetchval("SELECT dirty_version FROM dispatch.planning"))


async def test_a_newer_team_update_wins_over_an_older_one_arriving_after_it(
    db: asyncpg.Pool,
) -> None:
    newer = team(people=30).model_copy(update={"version": 2})
    older = team(people=50).model_copy(update={"version": 1})
    async with db.acquire() as conn, conn.transaction():
        await on_team_updated(conn, event(TEAM_UPDATED, newer))
    changed = await dirty(db)
    async with db.acquire() as conn, conn.transaction():
        await on_team_updated(conn, event(TEAM_UPDATED, older))
    assert await team_row(db) == (2, 30)
    assert await dirty(db) == changed  # nothing changed, so nothing to re-plan
    newest = team(people=40).model_copy(update={"version": 3})
    async with db.acquire() as conn, conn.transaction():
        await on_team_updated(conn, event(TEAM_UPDATED, newest))
    assert await team_row(db) == (3, 40)


async def test_unversioned_team_updates_still_replace_one_another(db: asyncpg.Pool) -> None:
    for people in (30, 50):
        async with db.acquire() as conn, conn.transaction():
            await on_team_updated(conn, event(TEAM_UPDATED, team(people=people)))
    assert await team_row(db) == (0, 50)


async def test_a_cancellation_arriving_after_the_completion_leaves_the_visit_completed(
    db: asyncpg.Pool,
) -> None:
    done = VisitCompleted(visit_id="v", team_id="t1", venue_type="home",
                          kecamatan_code="350901", people_recorded=1, people_absent=0,
                          services_delivered=1)  # fmt: skip
    crossed = VisitCancelled(visit_id="v", reason="moved away")
    async with db.acquire() as conn, conn.transaction():
        await on_visit_completed(conn, event(VISIT_COMPLETED, done))
        await on_visit_cancelled(conn, event(VISIT_CANCELLED, crossed))
    assert await db.fetchval("SELECT state FROM dispatch.visits WHERE visit_id = 'v'") == (
        "completed"
    )


class HeldSolver:
    """Solves once released, so the test decides how long the first plan lasts."""

    def __init__(self) -> None:
        self.started, self.release = threading.Event(), threading.Event()
        self.calls = 0

    def solve(self, problem: RoutingProblem) -> RoutingSolution:
        self.calls += 1
        self.started.set()
        assert self.release.wait(20), "never released"
        return VroomSolver(threads=1).solve(problem)


def planner(db: asyncpg.Pool, solver: HeldSolver, moment: datetime) -> Planner:
    return Planner(db, HaversineProvider(), solver, PlannerConfig(3), Tuning(debounce=0),
                   lambda: moment)  # fmt: skip


async def test_planners_either_side_of_midnight_never_plan_at_once(db: asyncpg.Pool) -> None:
    """Each plans a horizon from its own today; the two horizons overlap, so one waits."""
    late, early = HeldSolver(), HeldSolver()
    before = planner(db, late, BEFORE_MIDNIGHT)
    after = planner(db, early, AFTER_MIDNIGHT)
    await mark_changed(db)
    first = asyncio.create_task(before.plan_partition())
    await asyncio.to_thread(late.started.wait, 20)
    changed = await db.fetchval(
        "UPDATE dispatch.planning SET dirty_version = dirty_version + 1 RETURNING dirty_version"
    )
    early.release.set()
    assert not await after.plan_partition()  # the other replica is planning
    assert early.calls == 0
    late.release.set()
    assert await first
    assert await db.fetchval("SELECT planned_version FROM dispatch.planning") == changed - 1
    assert await after.plan_partition()  # the change made meanwhile is planned after all
    assert await db.fetchval("SELECT planned_version FROM dispatch.planning") == changed
