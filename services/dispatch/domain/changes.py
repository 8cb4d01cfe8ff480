"""What a new plan changes against what was announced: only that is published."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from services.dispatch.domain.model import Assignment, Plan, Route, Unassigned


@dataclass(frozen=True)
class Changes:
    scheduled: list[Assignment]  # new or moved (team, day, or ETA beyond the tolerance)
    routes: list[Route]  # team-days whose stops changed, empty ones included
    unassigned: list[Unassigned]  # newly unassigned, or for another reason

    def __bool__(self) -> bool:
        return bool(self.scheduled or self.routes or self.unassigned)


def moved(old: Assignment | None, new: Assignment, tolerance: timedelta) -> bool:
    if old is None or (old.team_id, old.day) != (new.team_id, new.day):
        return True
    return abs(old.eta - new.eta) >= tolerance


def route_changed(old: Route | None, new: Route, tolerance: timedelta) -> bool:
    if old is None or [s.visit_id for s in old.stops] != [s.visit_id for s in new.stops]:
        return True
    return any(abs(a.eta - b.eta) >= tolerance for a, b in zip(old.stops, new.stops, strict=True))


def changes(
    plan: Plan,
    announced: Mapping[str, Assignment],
    announced_routes: Mapping[tuple[str, date], Route],
    reasons: Mapping[str, str],
    tolerance: timedelta = timedelta(minutes=15),
) -> Changes:
    assignments = plan.assignments()
    scheduled = [a for v, a in sorted(assignments.items()) if moved(announced.get(v), a, tolerance)]
    current = {(r.team_id, r.day): r for r in plan.routes}
    routes = [r for k, r in sorted(current.items()) if route_changed(announced_routes.get(k), r,
                                                                      tolerance)]  # fmt: skip
    emptied = [
        Route(team_id, day, (), 0, 0.0)
        for (team_id, day), old in sorted(announced_routes.items())
        if (team_id, day) not in current and old.stops
    ]
    unassigned = [u for u in plan.unassigned if reasons.get(u.visit_id) != u.reason.value]
    return Changes(scheduled, routes + emptied, unassigned)
