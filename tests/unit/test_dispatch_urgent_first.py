"""Urgent first, as a rule: on 50 generated days no left-out visit could replace a lower one.

Hypothesis is not installed, so the days come from a seeded generator: 2–4 teams (the first
the only one with a printer), 20–40 home visits over a two-day horizon, capacity short.
Each plan is checked by `assert_feasible` and by `missed_swaps`, neither of them the planner.
"""

import random
from dataclasses import replace
from datetime import date, timedelta

from contracts.enums import Kit, Priority, ServiceType, VenueType, Weekday
from services.dispatch.adapters.haversine import HaversineProvider
from services.dispatch.adapters.vroom_solver import VroomSolver
from services.dispatch.domain.clock import at
from services.dispatch.domain.config import PlannerConfig
from services.dispatch.domain.model import Plan, Point, Reason, Route, Stop, Team, Unassigned, Visit
from services.dispatch.domain.planner import PlanningInput, plan
from tests.unit.dispatch_feasibility import assert_feasible
from tests.unit.dispatch_swaps import missed_swaps

MONDAY = date(2026, 12, 7)
WEEK = frozenset({Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI})
CENTRE = Point(-8.17, 113.70)
SERVICES = (
    frozenset({ServiceType.KTP_EL_RECORDING}),
    frozenset({ServiceType.KTP_EL_PRINT}),
    frozenset({ServiceType.KTP_EL_RECORDING, ServiceType.KTP_EL_PRINT}),
    frozenset({ServiceType.KK}),
)
SERVICE_WEIGHTS = (6, 2, 1, 2)
PRIORITIES = (Priority.URGENT, Priority.HIGH, Priority.NORMAL)
PRIORITY_WEIGHTS = (2, 3, 5)
DAYS = 50


def _near(rng: random.Random, spread: float) -> Point:
    return Point(
        CENTRE.lat + rng.uniform(-spread, spread), CENTRE.lon + rng.uniform(-spread, spread)
    )


def generated_day(seed: int) -> tuple[list[Team], list[Visit]]:
    rng = random.Random(seed)
    teams = [
        Team(f"t{i}", _near(rng, 0.08),
             frozenset(Kit) if i == 0 else frozenset({Kit.BIOMETRIC, Kit.DOCUMENT}),
             8 * 60, 15 * 60, WEEK, rng.randint(6, 12))
        for i in range(rng.randint(2, 4))
    ]  # fmt: skip
    visits = [
        Visit(f"v{i}", _near(rng, 0.12), VenueType.HOME, rng.choices(SERVICES, SERVICE_WEIGHTS)[0],
              rng.choice((1, 1, 1, 2)), rng.choices(PRIORITIES, PRIORITY_WEIGHTS)[0], MONDAY,
              MONDAY + timedelta(days=rng.randint(0, 1)))
        for i in range(rng.randint(20, 40))
    ]  # fmt: skip
    return teams, visits


def planned(teams: list[Team], visits: list[Visit]) -> Plan:
    given = PlanningInput(MONDAY, at(MONDAY, 0), teams, visits)
    config = PlannerConfig(horizon_days=2)
    return plan(given, HaversineProvider(), VroomSolver(threads=1), config)


def test_no_left_out_visit_could_take_the_place_of_a_lower_one_on_50_days() -> None:
    broken: list[str] = []
    left_out = 0
    for seed in range(DAYS):
        teams, visits = generated_day(seed)
        result = planned(teams, visits)
        assert_feasible(result, teams, visits)
        left_out += sum(1 for u in result.unassigned if u.reason == "no_capacity_in_window")
        broken += [f"day {seed}: {swap}" for swap in missed_swaps(result, teams, visits)]
    assert left_out > DAYS, "the generated days should be short of capacity"
    assert not broken, "\n".join(broken)


def test_the_check_finds_a_swap_left_undone() -> None:
    """The rule's check is not vacuous: a hand-made plan that serves normal over urgent."""
    teams, visits = generated_day(0)
    team = replace(teams[0], max_people_per_day=1)
    urgent = replace(visits[0], priority=Priority.URGENT, people=1, services=SERVICES[0])
    normal = replace(visits[1], priority=Priority.NORMAL, people=1, services=SERVICES[0])
    stop = Stop(normal.visit_id, at(MONDAY, 8 * 60 + 30), 30, 10, 1)
    made = Plan([Route(team.team_id, MONDAY, (stop,), 20, 5.0)],
                [Unassigned(urgent.visit_id, Reason.NO_CAPACITY_IN_WINDOW)])  # fmt: skip
    assert [str(s) for s in missed_swaps(made, [team], [urgent, normal])] == [
        f"v0 unassigned, {team.team_id} serves v1 on {MONDAY}"
    ]
    assert not missed_swaps(made, [team], [replace(urgent, people=2), normal])
