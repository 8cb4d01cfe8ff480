"""Dispatch on real NATS and PostgreSQL: it listens, plans once per burst, and publishes changes."""

import asyncio
import threading
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from nats.aio.client import Client
from pydantic import BaseModel

from contracts import EventSpec, envelope
from contracts.events import TeamUpdated, VisitCancelled, VisitRequested
from contracts.subjects import TEAM_UPDATED, VISIT_CANCELLED, VISIT_REQUESTED
from ots_runtime.auth import Role
from ots_runtime.settings import Settings
from services.dispatch.adapters.haversine import HaversineProvider
from services.dispatch.adapters.vroom_solver import VroomSolver
from services.dispatch.app import create_app
from services.dispatch.domain.clock import at
from services.dispatch.domain.config import PlannerConfig
from services.dispatch.domain.model import Plan, Route, Stop, Team, Visit
from services.dispatch.domain.routing import RoutingProblem, RoutingSolution, SolverError
from services.dispatch.planning import PLAN_FAILURES, Planner, Tuning
from services.dispatch.settings import DispatchSettings
from tests.support.events import published
from tests.support.http_service import serving
from tests.support.tokens import signed_token
from tests.unit.dispatch_feasibility import assert_feasible

MONDAY = at(datetime(2026, 12, 7).date(), 6 * 60)
QUICK = DispatchSettings(dispatch_debounce_seconds=0.3, dispatch_max_delay_seconds=2,
                         dispatch_retry_seconds=0.3, dispatch_horizon_days=3)  # fmt: skip


def clock() -> datetime:
    return MONDAY


def team(team_id: str = "t1", people: int = 50) -> TeamUpdated:
    return TeamUpdated(team_id=team_id, name=team_id, base={"lat": -8.1725, "lon": 113.6995},
                       kits=["biometric"], working_days=["mon", "tue", "wed", "thu", "fri"],
                       max_people_per_day=people)  # fmt: skip


def visit(visit_id: str, n: int = 0, days: int = 2) -> VisitRequested:
    return VisitRequested.model_validate({
        "visit_id": visit_id, "requester": {"agency_type": "dinsos", "agency_name": "Dinsos"},
        "venue": {"type": "home", "name": "Rumah", "kecamatan_code": "350901",
                  "lat": -8.20 + 0.01 * n, "lon": 113.66},
        "services": ["ktp_el_recording"], "expected_people": 1,
        "window": {"earliest": "2026-12-07", "latest": (MONDAY.date() + timedelta(days=days - 1)).isoformat()},
    })  # fmt: skip


async def send(nc: Client, spec: EventSpec, data: BaseModel) -> None:
    event = envelope(data, type_=spec.type, source="ots/intake", subject=None)
    await nc.jetstream().publish(spec.subject(), event.model_dump_json().encode(),
                                 headers={"Nats-Msg-Id": event.id})  # fmt: skip


def data_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["data"] for e in events]


def checked(routes: list[dict[str, Any]], teams: list[TeamUpdated], visits: list[VisitRequested],
            unassigned: set[str] = frozenset()) -> None:  # type: ignore[assignment]  # fmt: skip
    """Run the independent checker on what the plans API shows."""
    by_id = {v.visit_id: Visit.from_event(v) for v in visits}
    plan = Plan([Route(r["team_id"], datetime.fromisoformat(r["date"]).date(), tuple(
        Stop(s["visit_id"], datetime.fromisoformat(s["eta"]), s["service_minutes"],
             s["travel_minutes"], by_id[s["visit_id"]].people) for s in r["stops"]),
        r["travel_minutes"], r["distance_km"]) for r in routes])  # fmt: skip
    shown = {s.visit_id for r in plan.routes for s in r.stops}
    assert_feasible(plan, [Team.from_event(t) for t in teams],
                    [by_id[i] for i in shown])  # fmt: skip
    assert not shown & unassigned


async def test_a_burst_of_requests_is_planned_once_and_published(
    settings: Settings, nc: Client
) -> None:
    visits = [visit(f"v{i}", i) for i in range(5)]
    async with serving(create_app(settings, dispatch=QUICK, clock=clock)) as http:
        await send(nc, TEAM_UPDATED, team())
        for v in visits:
            await send(nc, VISIT_REQUESTED, v)
        scheduled = data_of(await published(nc, "ots.visit.scheduled", expect=5))
        routes = data_of(await published(nc, "ots.route.planned", expect=1))
        operator = {"Authorization": f"Bearer {signed_token(Role.OPERATOR)}"}
        plans = (
            await http.get("/v1/plans", params={"date": "2026-12-07"}, headers=operator)
        ).json()
    assert sorted(s["visit_id"] for s in scheduled) == [f"v{i}" for i in range(5)]
    assert len({s["plan_revision"] for s in scheduled}) == 1
    assert len(routes) == 1 and len(routes[0]["stops"]) == 5
    checked(plans["routes"], [team()], visits)


async def test_a_cancellation_frees_capacity_for_a_visit_left_unassigned(
    settings: Settings, nc: Client
) -> None:
    async with serving(create_app(settings, dispatch=QUICK, clock=clock)):
        await send(nc, TEAM_UPDATED, team(people=1))
        await send(nc, VISIT_REQUESTED, visit("first", 0, days=1))
        await send(nc, VISIT_REQUESTED, visit("second", 1, days=1))
        unassigned = data_of(await published(nc, "ots.visit.unassigned", expect=1))
        assert [u["reason"] for u in unassigned] == ["no_capacity_in_window"]
        waiting = unassigned[0]["visit_id"]
        served = "first" if waiting == "second" else "second"
        await send(nc, VISIT_CANCELLED, VisitCancelled(visit_id=served, reason="moved away"))
        scheduled = data_of(await published(nc, "ots.visit.scheduled", expect=2))
    retried = [s for s in scheduled if s["visit_id"] == waiting]
    assert retried and retried[0]["plan_revision"] > unassigned[0]["plan_revision"]


class FailingSolver:
    def solve(self, problem: RoutingProblem) -> RoutingSolution:
        raise SolverError("no solution today")


async def test_a_solver_failure_keeps_the_last_good_plan_and_is_counted(
    settings: Settings, nc: Client
) -> None:
    before = PLAN_FAILURES.labels("error")._value.get()
    async with serving(create_app(settings, dispatch=QUICK, clock=clock, solver=FailingSolver())):
        await send(nc, TEAM_UPDATED, team())
        await send(nc, VISIT_REQUESTED, visit("v"))
        for _ in range(100):
            if PLAN_FAILURES.labels("error")._value.get() > before:
                break
            await asyncio.sleep(0.1)
    assert PLAN_FAILURES.labels("error")._value.get() > before
    assert await published(nc, "ots.visit.scheduled", expect=0, within=0.5) == []


class HangingSolver:
    """Solves the first plan, then hangs as if the process died in the middle of re-planning."""

    def __init__(self) -> None:
        self.calls, self.release = 0, threading.Event()
        self.second_plan_started = threading.Event()

    def solve(self, problem: RoutingProblem) -> RoutingSolution:
        self.calls += 1
        if self.calls > 1:
            self.second_plan_started.set()
            self.release.wait(20)
            raise SolverError("abandoned")
        return VroomSolver(threads=1).solve(problem)


async def test_a_restart_in_the_middle_of_a_re_plan_re_publishes_nothing_announced(
    settings: Settings, nc: Client
) -> None:
    hanging = HangingSolver()
    async with serving(create_app(settings, dispatch=QUICK, clock=clock, solver=hanging)):
        await send(nc, TEAM_UPDATED, team())
        await send(nc, VISIT_REQUESTED, visit("v1", 1))
        await published(nc, "ots.visit.scheduled", expect=1)
        await send(nc, VISIT_REQUESTED, visit("v2", 2))
        await asyncio.to_thread(hanging.second_plan_started.wait, 20)
    hanging.release.set()
    async with serving(create_app(settings, dispatch=QUICK, clock=clock)):
        scheduled = data_of(await published(nc, "ots.visit.scheduled", expect=2))
    assert sorted(s["visit_id"] for s in scheduled) == ["v1", "v2"]


class ExclusiveSolver:
    """Counts how many plans run at once; slow enough for two planners to overlap."""

    def __init__(self) -> None:
        self.running = self.most = self.plans = 0
        self.lock = threading.Lock()

    def solve(self, problem: RoutingProblem) -> RoutingSolution:
        with self.lock:
            self.running += 1
            self.plans += 1
            self.most = max(self.most, self.running)
        threading.Event().wait(0.3)
        with self.lock:
            self.running -= 1
        return VroomSolver(threads=1).solve(problem)


async def mark_changed(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        await conn.execute("INSERT INTO dispatch.teams VALUES ('t1', $1)", team().model_dump_json())
        await conn.execute("INSERT INTO dispatch.visits (visit_id, body) VALUES ('v', $1)",
                           visit("v").model_dump_json())  # fmt: skip
        await conn.execute("UPDATE dispatch.planning SET dirty_version = 1")


async def test_two_planners_never_plan_the_same_partition_at_once(
    settings: Settings, db: asyncpg.Pool
) -> None:
    solver = ExclusiveSolver()
    pools = [await asyncpg.create_pool(settings.database_url, min_size=1, max_size=3) for _ in "ab"]
    planners = [Planner(p, HaversineProvider(), solver, PlannerConfig(2), Tuning(debounce=0),
                        clock) for p in pools]  # fmt: skip
    await mark_changed(db)
    try:
        outcomes = await asyncio.gather(*(p.plan_partition() for p in planners * 3))
    finally:
        for p in pools:
            await p.close()
    assert solver.most == 1
    assert outcomes.count(True) == 1 and solver.plans == 1
