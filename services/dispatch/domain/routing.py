"""The ports to a routing solver and a travel-time matrix, in solver-neutral terms.

Times are whole seconds on one clock (the planner uses seconds after local midnight);
locations are indices into the problem's matrices.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from services.dispatch.domain.model import Point

Matrix = Sequence[Sequence[int]]


@dataclass(frozen=True)
class RoutingJob:
    id: int
    location: int
    service: int
    demand: int
    skills: frozenset[int]
    priority: int
    window: tuple[int, int]


@dataclass(frozen=True)
class RoutingVehicle:
    id: int
    start: int
    end: int
    window: tuple[int, int]
    capacity: int
    skills: frozenset[int]
    fixed_cost: int = 0


@dataclass(frozen=True)
class RoutingProblem:
    jobs: Sequence[RoutingJob]
    vehicles: Sequence[RoutingVehicle]
    durations: Matrix
    costs: Matrix | None = None  # travel time when absent
    # A solution to start from (job ids in order, one list per vehicle): a warm start only.
    initial: Sequence[Sequence[int]] | None = None


@dataclass(frozen=True)
class VisitedJob:
    job_id: int
    arrival: int
    service: int


@dataclass(frozen=True)
class VehicleRoute:
    vehicle_id: int
    departure: int
    jobs: tuple[VisitedJob, ...]
    arrival_back: int


@dataclass(frozen=True)
class RoutingSolution:
    routes: tuple[VehicleRoute, ...]
    unassigned: frozenset[int]


class SolverError(Exception):
    """The solver failed or ran out of time: keep the last good plan."""


class Solver(Protocol):
    def solve(self, problem: RoutingProblem) -> RoutingSolution: ...


class TravelMatrix(Protocol):
    """Travel between the points given to the provider, by their index."""

    def seconds(self, a: int, b: int) -> int: ...

    def meters(self, a: int, b: int) -> int: ...

    def unroutable(self) -> frozenset[int]: ...

    def durations_among(self, indices: Sequence[int]) -> Matrix: ...


class MatrixProvider(Protocol):
    def matrix(self, points: Sequence[Point]) -> TravelMatrix: ...
