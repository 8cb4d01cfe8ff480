"""Timing a team's stops in a fixed order, and inserting one more where it costs least."""

from collections.abc import Sequence
from dataclasses import dataclass, replace

from services.dispatch.domain.routing import TravelMatrix


@dataclass(frozen=True)
class Call:
    """A stop to be timed: never started before `not_before`; exactly then if `exact`."""

    visit_id: str
    location: int
    service: int  # seconds
    people: int
    not_before: int = 0
    exact: bool = False


@dataclass(frozen=True)
class Timing:
    starts: tuple[int, ...]
    back: int  # seconds after midnight when the team is back at its base
    on_time: bool  # every exact call starts on time


def timing(base: int, depart: int, calls: Sequence[Call], matrix: TravelMatrix) -> Timing:
    clock, here, starts, on_time = depart, base, [], True
    for call in calls:
        arrive = clock + matrix.seconds(here, call.location)
        start = max(arrive, call.not_before)
        on_time = on_time and not (call.exact and start > call.not_before)
        starts.append(start)
        clock, here = start + call.service, call.location
    return Timing(tuple(starts), clock + matrix.seconds(here, base), on_time)


@dataclass(frozen=True)
class TeamToday:
    team_id: str
    base: int
    window: tuple[int, int]
    capacity: int
    calls: tuple[Call, ...]
    locked: int = 0  # calls already begun: nothing is inserted before them


def cheapest_insertion(
    route: TeamToday, call: Call, matrix: TravelMatrix
) -> tuple[int, TeamToday] | None:
    """The route with `call` inserted where the team comes back earliest, if it fits."""
    if sum(c.people for c in route.calls) + call.people > route.capacity:
        return None
    best: tuple[int, TeamToday] | None = None
    for position in range(route.locked, len(route.calls) + 1):
        calls = (*route.calls[:position], call, *route.calls[position:])
        planned = timing(route.base, route.window[0], calls, matrix)
        fits = planned.on_time and planned.back <= route.window[1]
        if fits and (best is None or planned.back < best[0]):
            best = (planned.back, replace(route, calls=calls))
    return best
