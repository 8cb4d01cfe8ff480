"""Day-by-day planning of a rolling horizon: pins first, then what fits, then the reasons."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from contracts.enums import Priority
from services.dispatch.domain.candidates import choose_candidates
from services.dispatch.domain.clock import days_from, local_day, local_minute
from services.dispatch.domain.config import PlannerConfig
from services.dispatch.domain.day import DayJob, TeamDay, build_problem, decode_route
from services.dispatch.domain.eligibility import reason_after_solving, reason_before_solving
from services.dispatch.domain.kits import carries, required_kits
from services.dispatch.domain.model import Assignment, Plan, Reason, Route, Team, Unassigned, Visit
from services.dispatch.domain.priority import PINNED, deadline_weight, rank_of, weighted_priority
from services.dispatch.domain.ranking import in_classes, strict_weights
from services.dispatch.domain.routing import MatrixProvider, RoutingSolution, Solver, TravelMatrix
from services.dispatch.domain.team_days import TeamDays
from services.dispatch.domain.timeline import TeamToday, timing
from services.dispatch.domain.today import as_route, call_for, insert_best, locked_count, seconds_on


@dataclass(frozen=True)
class PlanningInput:
    today: date
    now: datetime
    teams: Sequence[Team]
    visits: Sequence[Visit]
    announced: Mapping[str, Assignment] = field(default_factory=dict)
    routes_today: Sequence[Route] = ()


def plan(
    given: PlanningInput, matrices: MatrixProvider, solver: Solver, config: PlannerConfig
) -> Plan:
    return Horizon(given, matrices, solver, config).run()


class Horizon:
    def __init__(
        self, given: PlanningInput, matrices: MatrixProvider, solver: Solver, config: PlannerConfig
    ) -> None:
        self.given, self.solver, self.config = given, solver, config
        self.days = days_from(given.today, config.horizon_days)
        self.result = Plan()
        live = [v for v in given.visits if self._admissible(v)]
        teams = [t for t in given.teams if t.active]
        points = [t.base for t in teams] + [v.location for v in live]
        self.matrix: TravelMatrix = matrices.matrix(points)
        bad = self.matrix.unroutable()
        self.teams = {t.team_id: t for i, t in enumerate(teams) if i not in bad}
        self.team_at = {t.team_id: i for i, t in enumerate(teams) if i not in bad}
        self.at: dict[str, int] = {}
        for k, visit in enumerate(live, start=len(teams)):
            if k in bad:
                self._unassign(visit.visit_id, Reason.UNROUTABLE)
            else:
                self.at[visit.visit_id] = k
        self.visits = {v.visit_id: v for v in live if v.visit_id in self.at}
        self.pool = {i: v for i, v in self.visits.items() if not v.is_fixed}
        self.pins = self._pins_by_day()

    def _admissible(self, visit: Visit) -> bool:
        g = self.given
        reason = reason_before_solving(visit, g.teams, g.today, g.now, self.config.service_time)
        if reason is not None:
            self._unassign(visit.visit_id, reason)
        return reason is None

    def _unassign(self, visit_id: str, reason: Reason) -> None:
        self.result.unassigned.append(Unassigned(visit_id, reason))

    def _pins_by_day(self) -> dict[date, list[Assignment]]:
        pins: dict[date, list[Assignment]] = {}
        for visit_id, pin in self.given.announced.items():
            visit, team = self.visits.get(visit_id), self.teams.get(pin.team_id)
            if visit is None or visit.is_fixed or team is None or pin.day not in self.days:
                continue
            if carries(team.kits, visit.services) and visit.earliest <= pin.day <= visit.latest:
                pins.setdefault(pin.day, []).append(pin)
                self.pool.pop(visit_id, None)
        return pins

    def run(self) -> Plan:
        for day in self.days:
            frozen = self.today_as_announced() if day == self.given.today else {}
            self._plan_day(day, frozen)
        for visit in self.pool.values():
            self._unassign(visit.visit_id, reason_after_solving(visit, list(self.teams.values()),
                                                                self.days))  # fmt: skip
        return self.result

    def seconds(self, visit: Visit) -> int:
        return self.config.service_time.minutes(visit) * 60

    def today_as_announced(self) -> dict[str, TeamToday]:
        """Today's announced routes, kept as they are, with today's urgent visits inserted."""
        today, now = self.given.today, local_minute(self.given.now) * 60
        frozen: dict[str, TeamToday] = {}
        for route in self.given.routes_today:
            team = self.teams.get(route.team_id)
            stops = [s for s in route.stops if s.visit_id in self.visits]
            if team is None or not stops or route.day != today:
                continue
            calls = tuple(
                call_for(self.visits[s.visit_id], self.at[s.visit_id], self.seconds(
                    self.visits[s.visit_id]), seconds_on(today, s))
                for s in stops
            )  # fmt: skip
            index = self.team_at[team.team_id]
            start = min(team.shift_start * 60, calls[0].not_before)
            back = timing(index, start, calls, self.matrix).back
            frozen[team.team_id] = TeamToday(team.team_id, index,
                                             (start, max(team.shift_end * 60, back)),
                                             team.max_people_per_day, calls,
                                             locked_count(today, stops, now))  # fmt: skip
            for call in calls:
                self.pool.pop(call.visit_id, None)
        self._insert_urgent(frozen, now)
        return frozen

    def _insert_urgent(self, frozen: dict[str, TeamToday], now: int) -> None:
        today = self.given.today
        urgent = [v for v in self.pool.values()
                  if v.priority is Priority.URGENT and v.earliest <= today <= v.latest]  # fmt: skip
        for visit in sorted(urgent, key=lambda v: (v.latest, v.visit_id)):
            call = call_for(visit, self.at[visit.visit_id], self.seconds(visit), now)
            chosen = insert_best(frozen, self.teams, visit, call, self.matrix)
            if chosen is not None:
                frozen[chosen.team_id] = chosen
                self.pool.pop(visit.visit_id)

    def _plan_day(self, day: date, frozen: Mapping[str, TeamToday]) -> None:
        self.result.routes.extend(as_route(day, r, self.matrix) for r in frozen.values())
        handled = {c.visit_id for r in frozen.values() for c in r.calls}
        start = local_minute(self.given.now) if day == self.given.today else 0
        team_days = TeamDays(day, self.teams, self.team_at, set(frozen), start)
        jobs = self._fixed_jobs(day, team_days, handled)
        jobs += self._pinned_jobs(day, team_days, handled)
        open_jobs = [
            self._job(v, team_days.unpinned_window(), self._weight(v, day), rank=rank_of(v))
            for v in choose_candidates(self.pool.values(), day, team_days.serving(), self.config)
        ]
        self._solve(day, team_days, jobs + open_jobs)

    def _weight(self, visit: Visit, day: date) -> int:
        if self.config.ranking == "former":
            return weighted_priority(visit, day)
        return deadline_weight(visit, day)

    def _job(self, visit: Visit, window: tuple[int, int], priority: int,
             pinned_to: int | None = None, people: int | None = None,
             rank: int | None = None) -> DayJob:  # fmt: skip
        return DayJob(visit.visit_id, self.at[visit.visit_id], self.seconds(visit),
                      visit.people if people is None else people, required_kits(visit.services),
                      priority, window, pinned_to, rank)  # fmt: skip

    def _fixed_jobs(self, day: date, team_days: TeamDays, handled: set[str]) -> list[DayJob]:
        jobs: list[DayJob] = []
        for visit in self.visits.values():
            if visit.fixed_start is None or local_day(visit.fixed_start) != day:
                continue
            if visit.visit_id in handled:
                continue
            crews = team_days.draft(visit, self.at[visit.visit_id], self.matrix,
                                    self.config.service_time.minutes(visit))  # fmt: skip
            if crews is None:
                self._unassign(visit.visit_id, Reason.NOT_ENOUGH_TEAMS)
                continue
            start = local_minute(visit.fixed_start) * 60
            jobs += [self._job(visit, (start, start), PINNED, pin, people) for pin, people in crews]
        return jobs

    def _pinned_jobs(self, day: date, team_days: TeamDays, handled: set[str]) -> list[DayJob]:
        hard = day < self.given.today + timedelta(days=self.config.pinned_days)
        jobs: list[DayJob] = []
        for pin in (p for p in self.pins.get(day, []) if p.visit_id not in handled):
            visit = self.visits[pin.visit_id]
            team_day = team_days.get(pin.team_id)
            if team_day is None or not team_day.serves_unpinned:
                self.pool[visit.visit_id] = visit
                continue
            priority = PINNED if hard else min(PINNED - 1, self._weight(visit, day) + 5)
            jobs.append(self._job(visit, team_days.shift_of(pin.team_id), priority,
                                  team_day.index, rank=None if hard else rank_of(visit)))  # fmt: skip
        return jobs

    def _solve(self, day: date, team_days: TeamDays, jobs: list[DayJob]) -> None:
        vehicles = team_days.all()
        if not jobs or not vehicles:
            self.pool.update({j.visit_id: self.visits[j.visit_id] for j in jobs
                              if not self.visits[j.visit_id].is_fixed})  # fmt: skip
            return
        solution = self._route(vehicles, jobs)
        for route in solution.routes:
            if route.jobs:
                decoded = decode_route(day, vehicles[route.vehicle_id], route, jobs, self.matrix)
                self.result.routes.append(decoded)
                for stop in decoded.stops:
                    self.pool.pop(stop.visit_id, None)
        served = {s.visit_id for r in self.result.routes if r.day == day for s in r.stops}
        for job in (jobs[i] for i in solution.unassigned):
            visit = self.visits[job.visit_id]
            if not visit.is_fixed:
                self.pool[visit.visit_id] = visit
            elif visit.visit_id not in served and job.pinned_to is not None:
                self._unassign_once(visit.visit_id, Reason.NOT_ENOUGH_TEAMS)

    def _route(self, vehicles: list[TeamDay], jobs: list[DayJob]) -> RoutingSolution:
        if self.config.ranking == "classes":
            return in_classes(self.solver, vehicles, jobs, self.matrix)
        if self.config.ranking == "weights":
            jobs = strict_weights(jobs)
        return self.solver.solve(build_problem(vehicles, jobs, self.matrix))

    def _unassign_once(self, visit_id: str, reason: Reason) -> None:
        if all(u.visit_id != visit_id for u in self.result.unassigned):
            self._unassign(visit_id, reason)
