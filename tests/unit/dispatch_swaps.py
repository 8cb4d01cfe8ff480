"""An independent check of "urgent first, as a rule": swaps a plan should have made.

Written from the rule, not from the planner: for each unassigned urgent (or high) visit, is
there a team-day in its window serving a visit of a lower class whose place it could take?
The team must carry its kits and work that day; with the lower visit taken out, the visit is
put at every position of the rest of the route, timed from the shift's start with this
module's own travel (great circle ×1.4 at 30 km/h) and service times (30 min per person at
home, +25 % each extra service), and must leave the team back at its base two minutes
before the shift ends, within its people per day. A swap found this way is a real one (sound);
swaps that need the route re-ordered beyond one insertion are not looked for.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from contracts.enums import Priority, VenueType
from services.dispatch.domain.clock import weekday_of
from services.dispatch.domain.kits import required_kits
from services.dispatch.domain.model import Plan, Route, Team, Visit
from tests.unit.dispatch_feasibility import travel

CLASS = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2}
MARGIN = timedelta(minutes=2)


@dataclass(frozen=True)
class Swap:
    left_out: str
    instead_of: str
    team_id: str
    day: str

    def __str__(self) -> str:
        return f"{self.left_out} unassigned, {self.team_id} serves {self.instead_of} on {self.day}"


def service(visit: Visit) -> timedelta:
    assert visit.venue_type is VenueType.HOME, "the check times home visits only"
    return timedelta(minutes=30 * visit.people * (1 + 0.25 * (len(visit.services) - 1)))


def fits(team: Team, order: Sequence[Visit]) -> bool:
    clock, here = timedelta(minutes=team.shift_start), team.base
    for visit in order:
        clock += travel(here, visit.location) + service(visit)
        here = visit.location
    clock += travel(here, team.base)
    people = sum(v.people for v in order)
    return clock + MARGIN <= timedelta(minutes=team.shift_end) and people <= team.max_people_per_day


def _could_serve(team: Team, route: Route, visit: Visit) -> bool:
    return (
        visit.earliest <= route.day <= visit.latest
        and weekday_of(route.day) in team.working_days
        and required_kits(visit.services) <= team.kits
    )


def missed_swaps(plan: Plan, teams: Sequence[Team], visits: Sequence[Visit]) -> list[Swap]:
    by_team, by_visit = {t.team_id: t for t in teams}, {v.visit_id: v for v in visits}
    left_out = [by_visit[u.visit_id] for u in plan.unassigned]
    found: list[Swap] = []
    for visit in (v for v in left_out if not v.is_fixed and CLASS[v.priority] < 2):
        for route in plan.routes:
            team, stops = by_team[route.team_id], [by_visit[s.visit_id] for s in route.stops]
            if any(s.is_fixed for s in stops) or not _could_serve(team, route, visit):
                continue
            for lower in (s for s in stops if CLASS[s.priority] > CLASS[visit.priority]):
                rest = [s for s in stops if s is not lower]
                orders = ([*rest[:k], visit, *rest[k:]] for k in range(len(rest) + 1))
                if any(fits(team, order) for order in orders):
                    found.append(Swap(visit.visit_id, lower.visit_id, team.team_id,
                                      route.day.isoformat()))  # fmt: skip
    return found
