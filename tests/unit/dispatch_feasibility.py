"""An independent check of any dispatch plan: windows, shifts, capacity, kits, each visit once.

Written from the contract and the domain description, not from the planner's code: it
recomputes travel with its own great-circle formula (×1.4 at 30 km/h by default).
"""

import math
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

from contracts.jember import WIB
from services.dispatch.domain.clock import weekday_of
from services.dispatch.domain.kits import required_kits
from services.dispatch.domain.model import Plan, Point, Route, Team, Visit

SLACK = timedelta(minutes=1)


def travel(a: Point, b: Point, road_factor: float = 1.4, kmh: float = 30.0) -> timedelta:
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    meters = 2 * 6_371_000 * math.asin(math.sqrt(h)) * road_factor
    return timedelta(seconds=meters / (kmh / 3.6))


def assert_feasible(
    plan: Plan, teams: Sequence[Team], visits: Sequence[Visit], *, check_travel: bool = True
) -> None:
    by_team, by_visit = {t.team_id: t for t in teams}, {v.visit_id: v for v in visits}
    _each_visit_once(plan, by_visit)
    for route in plan.routes:
        team = by_team[route.team_id]
        assert team.active, f"{team.team_id} is inactive but routed"
        _route_fits(route, team, by_visit, check_travel)


def _each_visit_once(plan: Plan, visits: dict[str, Visit]) -> None:
    routed = Counter((s.visit_id, r.team_id) for r in plan.routes for s in r.stops)
    assert all(n == 1 for n in routed.values()), f"a team serves a visit twice: {routed}"
    days = {(s.visit_id, r.day) for r in plan.routes for s in r.stops}
    per_visit = Counter(v for v, _ in days)
    for visit_id, count in per_visit.items():
        assert count == 1, f"{visit_id} is planned on {count} days"
        several_teams = sum(1 for v, _ in routed if v == visit_id) > 1
        assert not several_teams or visits[visit_id].is_fixed, f"{visit_id} on several teams"
    unassigned = Counter(u.visit_id for u in plan.unassigned)
    assert all(n == 1 for n in unassigned.values()), f"unassigned twice: {unassigned}"
    assert not set(unassigned) & set(per_visit), "a visit is both routed and unassigned"
    assert set(unassigned) | set(per_visit) == set(visits), (
        "a visit is neither routed nor unassigned"
    )


def _route_fits(route: Route, team: Team, visits: dict[str, Visit], check_travel: bool) -> None:
    midnight = route.stops[0].eta.astimezone(WIB).replace(hour=0, minute=0, second=0)
    shift_start = midnight + timedelta(minutes=team.shift_start)
    shift_end = midnight + timedelta(minutes=team.shift_end)
    assert sum(s.people for s in route.stops) <= team.max_people_per_day, "over capacity"
    here, free_at = team.base, None
    for stop in route.stops:
        visit = visits[stop.visit_id]
        assert stop.eta.astimezone(WIB).date() == route.day, "stop on another day"
        assert visit.earliest <= route.day <= visit.latest, f"{visit.visit_id} outside window"
        assert required_kits(visit.services) <= team.kits, f"{team.team_id} lacks kits"
        if visit.fixed_start is not None:
            assert stop.eta == visit.fixed_start, f"{visit.visit_id} not at its fixed start"
        else:
            assert weekday_of(route.day) in team.working_days, f"{team.team_id} off that day"
            assert shift_start <= stop.eta, f"{visit.visit_id} before the shift"
            end = stop.eta + timedelta(minutes=stop.service_minutes)
            assert end <= shift_end + SLACK, f"{visit.visit_id} ends after the shift"
        if check_travel and free_at is not None:
            assert stop.eta + SLACK >= free_at + travel(here, visit.location), "travel too short"
        here, free_at = visit.location, stop.eta + timedelta(minutes=stop.service_minutes)
    if (
        check_travel
        and free_at is not None
        and not any(visits[s.visit_id].is_fixed for s in route.stops)
    ):
        assert free_at + travel(here, team.base) <= shift_end + SLACK, "back after the shift"
