"""Today's announced routes stay as they are; an urgent visit is inserted if it fits."""

from collections.abc import Mapping, Sequence
from datetime import date

from services.dispatch.domain.clock import at
from services.dispatch.domain.day import timed_route
from services.dispatch.domain.kits import carries
from services.dispatch.domain.model import Route, Stop, Team, Visit
from services.dispatch.domain.routing import TravelMatrix
from services.dispatch.domain.timeline import Call, TeamToday, cheapest_insertion, timing


def seconds_on(day: date, route_stop: Stop) -> int:
    return int((route_stop.eta - at(day, 0)).total_seconds())


def call_for(visit: Visit, location: int, service: int, not_before: int) -> Call:
    return Call(visit.visit_id, location, service, visit.people, not_before, visit.is_fixed)


def insert_best(
    frozen: Mapping[str, TeamToday], teams: Mapping[str, Team], visit: Visit, call: Call,
    matrix: TravelMatrix,
) -> TeamToday | None:  # fmt: skip
    """The team-day that takes `call` and still comes back earliest, or None."""
    options = [
        found
        for team_id, route in frozen.items()
        if carries(teams[team_id].kits, visit.services)
        and (found := cheapest_insertion(route, call, matrix)) is not None
    ]
    return min(options, key=lambda o: (o[0], o[1].team_id))[1] if options else None


def as_route(day: date, route: TeamToday, matrix: TravelMatrix) -> Route:
    planned = timing(route.base, route.window[0], route.calls, matrix)
    served = zip(route.calls, planned.starts, strict=True)
    return timed_route(day, route.team_id, route.base, served, planned.back, matrix)


def locked_count(day: date, stops: Sequence[Stop], now_seconds: int) -> int:
    return sum(1 for s in stops if seconds_on(day, s) <= now_seconds)
