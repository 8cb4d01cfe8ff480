"""One day's routing problem, in and out of the solver's neutral terms."""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from contracts.enums import Kit
from services.dispatch.domain.clock import at
from services.dispatch.domain.model import Route, Stop, Team
from services.dispatch.domain.routing import (
    RoutingJob,
    RoutingProblem,
    RoutingVehicle,
    TravelMatrix,
    VehicleRoute,
)

KIT_SKILLS = {Kit.BIOMETRIC: 1, Kit.PRINTER: 2, Kit.DOCUMENT: 3}
PIN_SKILL_BASE = 1000


@dataclass(frozen=True)
class TeamDay:
    team: Team
    index: int  # the team's point in the matrix and its unique pin skill
    window: tuple[int, int]  # seconds after local midnight
    serves_unpinned: bool = True

    @property
    def skills(self) -> frozenset[int]:
        own = frozenset({PIN_SKILL_BASE + self.index})
        if not self.serves_unpinned:
            return own
        return own | {KIT_SKILLS[k] for k in self.team.kits}


@dataclass(frozen=True)
class DayJob:
    visit_id: str
    location: int
    service: int  # seconds
    people: int
    kits: frozenset[Kit]
    priority: int
    window: tuple[int, int]
    pinned_to: int | None = None  # a TeamDay index
    rank: int | None = None  # the priority class (0 urgent); None: fixed or pinned, always in

    @property
    def skills(self) -> frozenset[int]:
        if self.pinned_to is not None:  # the team was checked for the kits when pinned
            return frozenset({PIN_SKILL_BASE + self.pinned_to})
        return frozenset(KIT_SKILLS[k] for k in self.kits)


def build_problem(
    teams: Sequence[TeamDay], jobs: Sequence[DayJob], matrix: TravelMatrix
) -> RoutingProblem:
    points = sorted({t.index for t in teams} | {j.location for j in jobs})
    local = {p: i for i, p in enumerate(points)}
    vehicles = [
        RoutingVehicle(n, local[t.index], local[t.index], t.window, t.team.max_people_per_day,
                       t.skills)
        for n, t in enumerate(teams)
    ]  # fmt: skip
    routing_jobs = [
        RoutingJob(n, local[j.location], j.service, j.people, j.skills, j.priority, j.window)
        for n, j in enumerate(jobs)
    ]
    return RoutingProblem(routing_jobs, vehicles, matrix.durations_among(points))


class Served(Protocol):
    """A stop to be written into a route: a `DayJob` or a timeline `Call`."""

    @property
    def visit_id(self) -> str: ...

    @property
    def location(self) -> int: ...

    @property
    def service(self) -> int: ...  # seconds

    @property
    def people(self) -> int: ...


def timed_route(
    day: date, team_id: str, base: int, served: Iterable[tuple[Served, int]], back: int,
    matrix: TravelMatrix,
) -> Route:  # fmt: skip
    """The route from `base` through each stop, started at its given second, and back."""
    stops: list[Stop] = []
    previous, meters, seconds = base, 0, 0
    for stop, start in served:
        travel = matrix.seconds(previous, stop.location)
        meters += matrix.meters(previous, stop.location)
        seconds += travel
        eta = at(day, 0) + timedelta(seconds=start)
        stops.append(Stop(stop.visit_id, eta, minutes(stop.service), minutes(travel), stop.people))
        previous = stop.location
    seconds += matrix.seconds(previous, base)
    meters += matrix.meters(previous, base)
    return Route(team_id, day, tuple(stops), minutes(seconds), round(meters / 1000, 2),
                 at(day, 0) + timedelta(seconds=back))  # fmt: skip


def decode_route(
    day: date, team: TeamDay, route: VehicleRoute, jobs: Sequence[DayJob], matrix: TravelMatrix
) -> Route:
    served = [(jobs[visited.job_id], visited.arrival) for visited in route.jobs]
    return timed_route(day, team.team.team_id, team.index, served, route.arrival_back, matrix)


def minutes(seconds: int) -> int:
    return math.ceil(seconds / 60)
