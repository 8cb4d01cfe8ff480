"""The fast path for an urgent request: insert it into today's routes without re-solving."""

from collections.abc import Mapping, Sequence
from datetime import datetime

from services.dispatch.domain.clock import local_minute
from services.dispatch.domain.model import Route, Team, Visit
from services.dispatch.domain.routing import MatrixProvider
from services.dispatch.domain.service_time import ServiceTimeModel
from services.dispatch.domain.timeline import TeamToday
from services.dispatch.domain.today import as_route, call_for, insert_best, locked_count, seconds_on


def insert_urgent(
    routes_today: Sequence[Route], teams: Mapping[str, Team], visits: Mapping[str, Visit],
    urgent: Visit, now: datetime, matrices: MatrixProvider, times: ServiceTimeModel,
) -> Route | None:  # fmt: skip
    """Today's route of the team that takes `urgent` and comes back earliest, or None."""
    routes = [r for r in routes_today if r.team_id in teams]
    points = [teams[r.team_id].base for r in routes]
    stops = [s for r in routes for s in r.stops]
    points += [visits[s.visit_id].location for s in stops] + [urgent.location]
    matrix = matrices.matrix(points)
    frozen: dict[str, TeamToday] = {}
    at_stop = len(routes)
    for index, route in enumerate(routes):
        team = teams[route.team_id]
        calls = []
        for stop in route.stops:
            visit = visits[stop.visit_id]
            calls.append(call_for(visit, at_stop, times.minutes(visit) * 60,
                                  seconds_on(route.day, stop)))  # fmt: skip
            at_stop += 1
        window = (team.shift_start * 60, team.shift_end * 60)
        frozen[team.team_id] = TeamToday(team.team_id, index, window, team.max_people_per_day,
                                         tuple(calls), locked_count(route.day, route.stops,
                                                                    local_minute(now) * 60))  # fmt: skip
    now_s = local_minute(now) * 60
    call = call_for(urgent, len(points) - 1, times.minutes(urgent) * 60, now_s)
    chosen = insert_best(frozen, teams, urgent, call, matrix)
    day = routes[0].day if routes else now.date()
    return as_route(day, chosen, matrix) if chosen else None
