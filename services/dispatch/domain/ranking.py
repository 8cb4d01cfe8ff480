"""Solving a day so that a priority class is a rule, not a weight.

VROOM maximises the sum of job priorities, each capped at 100. A strict order by weights
needs each class worth more than every lower visit of the solve together: normal 0, high 1,
urgent (number of high jobs + 1); that fits under the cap only while a solve holds fewer than
99 high visits, and leaves no room to order a class by deadline. So a day is solved class by
class instead (`in_classes`, the default):

1. the fixed and pinned jobs with the urgent ones;
2. what step 1 placed, each job held to its team (a skill unique to the team) at priority
   100, with the high ones at their deadline weights (1–21);
3. the same again with the normal ones.

A step keeps everything the one before placed: should the weights of the new class outweigh
a held job (21 visits closing today outweigh one held at 100), the step is solved again with
the new class at priority 0, where dropping a held job can only lower the sum.
`strict_weights` is the single-solve alternative, kept to be measured against.
"""

from collections.abc import Sequence
from dataclasses import replace

from services.dispatch.domain.day import DayJob, TeamDay, build_problem
from services.dispatch.domain.priority import PINNED
from services.dispatch.domain.routing import (
    RoutingSolution,
    Solver,
    TravelMatrix,
    VehicleRoute,
    VisitedJob,
)


def in_classes(
    solver: Solver, teams: Sequence[TeamDay], jobs: Sequence[DayJob], matrix: TravelMatrix
) -> RoutingSolution:
    """Solve `jobs` class by class; the answer's job ids index `jobs`."""
    work = list(jobs)  # each job held to the team a step placed it with
    held = [i for i, j in enumerate(jobs) if j.rank is None]
    picked, solution = held, RoutingSolution((), frozenset())
    ranks = sorted({j.rank for j in jobs if j.rank is not None})
    for step, rank in enumerate(ranks or [None]):
        new = [i for i, j in enumerate(jobs) if j.rank is not None and j.rank == rank]
        carried = [work[i] if step == 0 else replace(work[i], priority=PINNED) for i in held]
        start = _as_start(solution, picked, held, len(teams)) if step else None
        picked = held + new
        solution = _solve(solver, teams, [*carried, *(jobs[i] for i in new)], matrix, start)
        if step and any(i < len(held) for i in solution.unassigned):
            zero = [replace(jobs[i], priority=0) for i in new]
            solution = _solve(solver, teams, [*carried, *zero], matrix, start)
        held = []
        for route in solution.routes:
            for visited in route.jobs:
                i = picked[visited.job_id]
                work[i] = replace(work[i], pinned_to=teams[route.vehicle_id].index)
                held.append(i)
        held.sort()
    return _renumbered(solution, picked, len(jobs))


def strict_weights(jobs: Sequence[DayJob]) -> list[DayJob]:
    """One solve's weights, each class above all lower jobs together (capped at 99)."""
    counts: dict[int, int] = {}
    for job in jobs:
        if job.rank is not None:
            counts[job.rank] = counts.get(job.rank, 0) + 1
    weights: dict[int, int] = {}
    below = 0
    for rank in sorted(counts, reverse=True):  # the lowest class first, at 0
        weights[rank] = min(PINNED - 1, below + 1) if weights else 0
        below += counts[rank] * weights[rank]
    return [j if j.rank is None else replace(j, priority=weights[j.rank]) for j in jobs]


def _solve(
    solver: Solver, teams: Sequence[TeamDay], jobs: Sequence[DayJob], matrix: TravelMatrix,
    start: list[list[int]] | None = None,
) -> RoutingSolution:  # fmt: skip
    problem = build_problem(teams, jobs, matrix)
    return solver.solve(replace(problem, initial=start) if start else problem)


def _as_start(
    solution: RoutingSolution, picked: Sequence[int], held: Sequence[int], vehicles: int
) -> list[list[int]]:
    """The last step's routes as the next step's warm start, in the next step's job ids."""
    position = {original: n for n, original in enumerate(held)}
    start: list[list[int]] = [[] for _ in range(vehicles)]
    for route in solution.routes:
        start[route.vehicle_id] = [position[picked[v.job_id]] for v in route.jobs]
    return start


def _renumbered(solution: RoutingSolution, picked: Sequence[int], total: int) -> RoutingSolution:
    routes = tuple(
        VehicleRoute(r.vehicle_id, r.departure,
                     tuple(VisitedJob(picked[v.job_id], v.arrival, v.service) for v in r.jobs),
                     r.arrival_back)
        for r in solution.routes
    )  # fmt: skip
    served = {v.job_id for r in routes for v in r.jobs}
    return RoutingSolution(routes, frozenset(range(total)) - served)
