"""The routing port served by VROOM (PyPI `pyvroom`)."""

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import numpy as np
import vroom  # type: ignore[import-untyped]

from services.dispatch.domain.routing import (
    RoutingProblem,
    RoutingSolution,
    SolverError,
    VehicleRoute,
    VisitedJob,
)

# Exploration shrinks as problems grow: level 5 on 450 jobs took 40 s, level 1 about 1 s.
EXPLORATION_BY_SIZE = ((60, 5), (150, 4), (250, 2))


def exploration_for(jobs: int) -> int:
    return next((level for limit, level in EXPLORATION_BY_SIZE if jobs <= limit), 1)


class VroomSolver:
    def __init__(
        self,
        *,
        threads: int = 2,
        timeout_seconds: float | None = None,
        exploration: int | None = None,
    ) -> None:
        self.threads, self.timeout, self.exploration = threads, timeout_seconds, exploration

    def solve(self, problem: RoutingProblem) -> RoutingSolution:
        try:
            answer = self._input(problem).solve(
                exploration_level=self.exploration or exploration_for(len(problem.jobs)),
                nb_threads=self.threads,
                timeout=timedelta(seconds=self.timeout) if self.timeout else None,
            )
        except Exception as error:  # the binding raises plain RuntimeErrors
            raise SolverError(f"vroom failed: {error}") from error
        return decode(answer.to_dict())

    def _input(self, problem: RoutingProblem) -> vroom.Input:
        given = vroom.Input()
        given.set_durations_matrix("car", np.asarray(problem.durations, dtype=np.uint32))
        if problem.costs is not None:
            given.set_costs_matrix("car", np.asarray(problem.costs, dtype=np.uint32))
        for n, v in enumerate(problem.vehicles):
            given.add_vehicle(vroom.Vehicle(
                id=v.id, start=v.start, end=v.end, capacity=[v.capacity], skills=set(v.skills),
                time_window=vroom.TimeWindow(*v.window),
                costs=vroom.VehicleCosts(fixed=v.fixed_cost),
                steps=_steps(problem.initial[n]) if problem.initial else (),
            ))  # fmt: skip
        for j in problem.jobs:
            given.add_job(vroom.Job(
                id=j.id, location=j.location, default_service=j.service, delivery=[j.demand],
                skills=set(j.skills), priority=j.priority,
                time_windows=[vroom.TimeWindow(*j.window)],
            ))  # fmt: skip
        return given


def _steps(job_ids: Sequence[int]) -> list[vroom.VehicleStep]:
    """A warm start: in solve mode VROOM starts from these routes, bound by none of them."""
    if not job_ids:
        return []
    singles = [vroom.VehicleStep("single", j) for j in job_ids]
    return [vroom.VehicleStep("start"), *singles, vroom.VehicleStep("end")]


def decode(answer: dict[str, Any]) -> RoutingSolution:
    routes = tuple(_route(r) for r in answer.get("routes", []))
    unassigned = frozenset(int(u["id"]) for u in answer.get("unassigned", []))
    return RoutingSolution(routes, unassigned)


def _route(route: dict[str, Any]) -> VehicleRoute:
    steps = route["steps"]
    jobs = tuple(
        VisitedJob(int(s["id"]), int(s["arrival"]) + int(s["waiting_time"]), int(s["service"]))
        for s in steps
        if s["type"] == "job"
    )
    return VehicleRoute(int(route["vehicle"]), int(steps[0]["arrival"]), jobs,
                        int(steps[-1]["arrival"]))  # fmt: skip
