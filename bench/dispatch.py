"""Dispatch benchmarks, each against a baseline measured in the same run.

(1) Solomon VRPTW instances through the service's solver port beside a direct pyvroom call
    with the same settings: vehicles, distance and gap to the best known (bks.csv).
(2) Generated Jember days (N visits, T teams): horizon plan time, and the latency of
    inserting an urgent visit into today's announced routes (p50/p95), through the
    planner's own path: `Horizon` set up as a re-plan sets it up (travel matrix over every
    open visit), then `today_as_announced`, which inserts today's urgent visits.

    .venv/bin/python bench/dispatch.py [--instances C101 R101 ...] [--quick]
"""

import argparse
import csv
import itertools
import math
import os
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import vroom  # type: ignore[import-untyped]

from contracts.enums import Kit, Priority, ServiceType, VenueType, Weekday
from services.dispatch.adapters.haversine import HaversineProvider
from services.dispatch.adapters.vroom_solver import VroomSolver
from services.dispatch.domain.clock import at
from services.dispatch.domain.config import PlannerConfig
from services.dispatch.domain.model import Point, Team, Visit
from services.dispatch.domain.planner import Horizon, PlanningInput, plan
from services.dispatch.domain.routing import RoutingJob, RoutingProblem, RoutingVehicle

# The project's reference data lives beside the repository (../shared/data).
SOLOMON = Path(
    os.environ.get("OTS_SOLOMON_DIR")
    or Path(__file__).resolve().parents[2] / "shared" / "data" / "solomon"
)
DEFAULT_INSTANCES = ["C101", "R101", "RC101", "C201", "R201", "RC201"]
SCALE = 100


def read_solomon(name: str) -> tuple[int, int, list[list[float]]]:
    lines = (SOLOMON / f"{name}.txt").read_text().splitlines()
    vehicles, capacity = map(int, lines[4].split())
    rows = [list(map(float, line.split())) for line in lines[9:] if line.strip()]
    return vehicles, capacity, rows


def solomon_problem(name: str) -> tuple[RoutingProblem, np.ndarray]:
    vehicles, capacity, rows = read_solomon(name)
    xy = np.array([[r[1], r[2]] for r in rows])
    dist = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)) * SCALE
    durations, costs = np.ceil(dist).astype(int), np.rint(dist).astype(int)
    horizon = (int(rows[0][4] * SCALE), int(rows[0][5] * SCALE))
    fleet = [RoutingVehicle(v, 0, 0, horizon, capacity, frozenset()) for v in range(vehicles)]
    jobs = [RoutingJob(int(r[0]), int(r[0]), int(r[6] * SCALE), int(r[3]), frozenset(), 0,
                       (int(r[4] * SCALE), int(r[5] * SCALE))) for r in rows[1:]]  # fmt: skip
    return RoutingProblem(jobs, fleet, durations.tolist(), costs.tolist()), dist / SCALE


def direct_vroom(problem: RoutingProblem) -> list[list[int]]:
    given = vroom.Input()
    given.set_durations_matrix("car", np.asarray(problem.durations, dtype=np.uint32))
    given.set_costs_matrix("car", np.asarray(problem.costs, dtype=np.uint32))
    for v in problem.vehicles:
        given.add_vehicle(vroom.Vehicle(id=v.id, start=0, end=0, capacity=[v.capacity],
                                        time_window=vroom.TimeWindow(*v.window)))  # fmt: skip
    for j in problem.jobs:
        given.add_job(vroom.Job(id=j.id, location=j.location, default_service=j.service,
                                delivery=[j.demand], time_windows=[vroom.TimeWindow(*j.window)]))  # fmt: skip
    answer = given.solve(exploration_level=5, nb_threads=2).to_dict()
    return [[s["id"] for s in r["steps"] if s["type"] == "job"] for r in answer["routes"]]


def length(routes: list[list[int]], dist: np.ndarray) -> float:
    total = 0.0
    for stops in routes:
        path = [0, *stops, 0]
        total += sum(dist[a, b] for a, b in itertools.pairwise(path))
    return total


def solomon_rows(names: list[str]) -> None:
    if not (SOLOMON / "bks.csv").exists():
        sys.exit(f"no Solomon instances in {SOLOMON}: set OTS_SOLOMON_DIR to shared/data/solomon")
    bks = {r["instance"]: r for r in csv.DictReader((SOLOMON / "bks.csv").open())}
    print(
        "| instance | BKS veh | BKS dist | port veh | port dist | port gap | port s | direct veh "
        "| direct dist | direct gap | direct s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        problem, dist = solomon_problem(name)
        t0 = time.perf_counter()
        solution = VroomSolver(threads=2, exploration=5).solve(problem)
        t1 = time.perf_counter()
        direct = direct_vroom(problem)
        t2 = time.perf_counter()
        port = [[j.job_id for j in r.jobs] for r in solution.routes if r.jobs]
        best = float(bks[name]["distance"])
        cells = []
        for routes, secs in ((port, t1 - t0), (direct, t2 - t1)):
            d = length(routes, dist)
            cells += [str(len(routes)), f"{d:.2f}", f"{100 * (d / best - 1):+.1f}%", f"{secs:.1f}"]
        print(f"| {name} | {bks[name]['vehicles']} | {best:.2f} | " + " | ".join(cells) + " |")


WEEK = frozenset({Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI})
MONDAY = date(2026, 12, 7)


def jember_day(visits: int, teams: int, seed: int) -> tuple[list[Team], list[Visit]]:
    rng = random.Random(seed)
    bases = [Point(rng.uniform(-8.45, -8.05), rng.uniform(113.35, 113.95)) for _ in range(teams)]
    crew = [Team(f"t{i}", b, frozenset({Kit.BIOMETRIC, Kit.DOCUMENT} if i % 3 else set(Kit)),
                 480, 900, WEEK, 50) for i, b in enumerate(bases)]  # fmt: skip
    made = []
    for i in range(visits):
        near = bases[i % teams]
        spot = Point(near.lat + rng.gauss(0, 0.04), near.lon + rng.gauss(0, 0.04))
        batch = rng.random() < 0.1
        made.append(Visit(f"v{i}", spot, VenueType.SCHOOL if batch else VenueType.HOME,
                          frozenset({ServiceType.KTP_EL_RECORDING}), rng.randint(15, 40) if batch
                          else rng.randint(1, 2), rng.choice(list(Priority)), MONDAY,
                          MONDAY + timedelta(days=rng.randint(0, 9))))  # fmt: skip
    return crew, made


def jember_rows(sizes: list[tuple[int, int]], samples: int) -> None:
    print("| visits | teams | plan s | routed | unassigned | urgent p50 ms | urgent p95 ms |")
    print("|---|---|---|---|---|---|---|")
    for visits, teams in sizes:
        crew, made = jember_day(visits, teams, seed=visits)
        given = PlanningInput(MONDAY, at(MONDAY, 0), crew, made)
        t0 = time.perf_counter()
        result = plan(given, HaversineProvider(), VroomSolver(threads=2), PlannerConfig())
        seconds = time.perf_counter() - t0
        today = [r for r in result.routes if r.day == MONDAY]
        announced = result.assignments()
        provider, solver, config = HaversineProvider(), VroomSolver(threads=2), PlannerConfig()
        latencies = []
        rng = random.Random(1)
        for k in range(samples):
            urgent = Visit(f"u{k}", Point(rng.uniform(-8.4, -8.1), rng.uniform(113.4, 113.9)),
                           VenueType.HOME, frozenset({ServiceType.KTP_EL_RECORDING}), 1,
                           Priority.URGENT, MONDAY, MONDAY)  # fmt: skip
            replan = PlanningInput(MONDAY, at(MONDAY, 9 * 60), crew, [*made, urgent], announced,
                                   today)  # fmt: skip
            t1 = time.perf_counter()
            Horizon(replan, provider, solver, config).today_as_announced()
            latencies.append((time.perf_counter() - t1) * 1000)
        p95 = sorted(latencies)[max(0, math.ceil(0.95 * len(latencies)) - 1)]
        routed = len(announced)
        print(
            f"| {visits} | {teams} | {seconds:.2f} | {routed} | {len(result.unassigned)} | "
            f"{statistics.median(latencies):.1f} | {p95:.1f} |"
        )


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--instances", nargs="*", default=None)
    args.add_argument("--quick", action="store_true", help="two instances, smaller samples")
    opts = args.parse_args()
    names = opts.instances or (["C101", "R101"] if opts.quick else DEFAULT_INSTANCES)
    solomon_rows(names)
    print()
    sizes = [(50, 5), (300, 10)] if opts.quick else [(50, 5), (300, 10), (1000, 30)]
    jember_rows(sizes, samples=20 if opts.quick else 100)


if __name__ == "__main__":
    main()
