"""Dispatch benchmarks, each against a baseline measured in the same run.

(1) Solomon VRPTW instances through the service's solver port beside a direct pyvroom call
    with the same settings: vehicles, distance and gap to the best known (bks.csv).
(2) Generated Jember days (N visits, T teams): horizon plan time, and the latency of
    inserting an urgent visit into today's announced routes (p50/p95), through the
    planner's own path: `Horizon` set up as a re-plan sets it up (travel matrix over every
    open visit), then `today_as_announced`, which inserts today's urgent visits.
(3) Urgent first (issue 15) on days like the one that showed the fault: 120 home visits,
    5 teams of 15 people, one team with a printer. Visits served today per priority class by
    the planner (classes solved one by one, the default; strict weights; the former weights)
    against a direct VROOM solve of the same day with the former weights, the rule breaks
    found by tests/unit/dispatch_swaps.py, and the time to plan the horizon.

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
from services.dispatch.domain.day import DayJob, TeamDay, build_problem, decode_route
from services.dispatch.domain.kits import carries, required_kits
from services.dispatch.domain.model import Plan, Point, Reason, Team, Unassigned, Visit
from services.dispatch.domain.planner import Horizon, PlanningInput, plan
from services.dispatch.domain.priority import rank_of, weighted_priority
from services.dispatch.domain.routing import RoutingJob, RoutingProblem, RoutingVehicle
from tests.unit.dispatch_swaps import missed_swaps

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


ISSUE_SERVICES = (
    frozenset({ServiceType.KTP_EL_RECORDING}),
    frozenset({ServiceType.KTP_EL_PRINT}),
    frozenset({ServiceType.KTP_EL_RECORDING, ServiceType.KTP_EL_PRINT}),
    frozenset({ServiceType.KK}),
)


def issue_day(seed: int, visits: int = 120, teams: int = 5) -> tuple[list[Team], list[Visit]]:
    """Home visits only, teams of 15 people a day, the first the only one with a printer."""
    rng = random.Random(seed)
    centre = Point(-8.17, 113.70)

    def near(spread: float) -> Point:
        return Point(centre.lat + rng.uniform(-spread, spread),
                     centre.lon + rng.uniform(-spread, spread))  # fmt: skip

    crew = [Team(f"t{i}", near(0.1), frozenset(Kit) if i == 0 else
                 frozenset({Kit.BIOMETRIC, Kit.DOCUMENT}), 480, 900, WEEK, 15)
            for i in range(teams)]  # fmt: skip
    made = [Visit(f"v{i}", near(0.15), VenueType.HOME,
                  rng.choices(ISSUE_SERVICES, (6, 2, 1, 2))[0], rng.choice((1, 1, 1, 2)),
                  rng.choices(list(Priority), (2, 3, 5))[0], MONDAY,
                  MONDAY + timedelta(days=rng.choice((0, 0, 1, 2, 4))))
            for i in range(visits)]  # fmt: skip
    return crew, made


def direct_day(crew: list[Team], made: list[Visit]) -> Plan:
    """Today in one VROOM solve with the former weights: every visit open today, every team."""
    provider = HaversineProvider()
    matrix = provider.matrix([t.base for t in crew] + [v.location for v in made])
    vehicles = [TeamDay(t, i, (t.shift_start * 60, t.shift_end * 60)) for i, t in enumerate(crew)]
    today = [(k, v) for k, v in enumerate(made, start=len(crew)) if v.earliest <= MONDAY <= v.latest
             and any(carries(t.kits, v.services) for t in crew)]  # fmt: skip
    minutes = PlannerConfig().service_time.minutes
    jobs = [DayJob(v.visit_id, k, minutes(v) * 60, v.people, required_kits(v.services),
                   weighted_priority(v, MONDAY), (480 * 60, 900 * 60)) for k, v in today]  # fmt: skip
    solution = VroomSolver(threads=2).solve(build_problem(vehicles, jobs, matrix))
    routes = [decode_route(MONDAY, vehicles[r.vehicle_id], r, jobs, matrix)
              for r in solution.routes if r.jobs]  # fmt: skip
    left = [Unassigned(jobs[i].visit_id, Reason.NO_CAPACITY_IN_WINDOW) for i in solution.unassigned]
    return Plan(routes, left)


def served_today(result: Plan, made: list[Visit]) -> tuple[list[int], int]:
    by_id, counts, people = {v.visit_id: v for v in made}, [0, 0, 0], 0
    for stop in (s for r in result.routes if r.day == MONDAY for s in r.stops):
        counts[rank_of(by_id[stop.visit_id])] += 1
        people += by_id[stop.visit_id].people
    return counts, people


def urgent_rows(seeds: int) -> None:
    print("| rule | urgent served today | high | normal | people today | people in horizon "
          "| rule breaks (days) | plan s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    modes = ("classes", "weights", "former", "direct VROOM (former weights, today only)")
    totals: dict[str, list[float]] = {m: [0.0] * 8 for m in modes}
    for seed in range(seeds):
        crew, made = issue_day(seed)
        for mode in modes:
            t0 = time.perf_counter()
            if mode.startswith("direct"):
                result = direct_day(crew, made)
            else:
                config = PlannerConfig(ranking=mode)  # type: ignore[arg-type]
                given = PlanningInput(MONDAY, at(MONDAY, 0), crew, made)
                result = plan(given, HaversineProvider(), VroomSolver(threads=2), config)
            seconds = time.perf_counter() - t0
            counts, people = served_today(result, made)
            horizon = sum(v.people for v in made if v.visit_id in result.assignments())
            closing = {v.visit_id for v in made if v.latest == MONDAY}  # lost unless today
            today = Plan([r for r in result.routes if r.day == MONDAY],
                         [u for u in result.unassigned if u.visit_id in closing])  # fmt: skip
            breaks = missed_swaps(today, crew, made)
            row = totals[mode]
            for n, value in enumerate([*counts, people, horizon, len(breaks), bool(breaks)]):
                row[n] += value
            row[7] += seconds
    for mode, row in totals.items():
        u, h, normal, p, hz, br, days, secs = row
        print(f"| {mode} | {u / seeds:.1f} | {h / seeds:.1f} | {normal / seeds:.1f} | {p / seeds:.1f} "
              f"| {hz / seeds:.1f} | {int(br)} ({int(days)}/{seeds}) | {secs / seeds:.2f} |")  # fmt: skip


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
    print()
    urgent_rows(seeds=5 if opts.quick else 20)


if __name__ == "__main__":
    main()
