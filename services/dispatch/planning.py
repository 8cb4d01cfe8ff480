"""The background planner: debounced, one replica at a time, last good plan on failure."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
from prometheus_client import Counter, Histogram

from services.dispatch.domain.changes import changes
from services.dispatch.domain.clock import local_day
from services.dispatch.domain.config import PlannerConfig
from services.dispatch.domain.model import Plan
from services.dispatch.domain.planner import PlanningInput, plan
from services.dispatch.domain.routing import MatrixProvider, Solver
from services.dispatch.handlers import DIRTY_CHANNEL
from services.dispatch.publishing import publish
from services.dispatch.store import (
    SCHEMA,
    View,
    dirty_version,
    load_view,
    next_revision,
    record_plan,
)

log = logging.getLogger(__name__)
PLAN_FAILURES = Counter(
    "ots_dispatch_plan_failures_total", "Re-plans that fell back to the last good plan", ["kind"]
)
PLAN_SECONDS = Histogram("ots_dispatch_plan_seconds", "Time to plan the horizon")
# One key for all of dispatch's planning: every plan covers the whole horizon (today and the
# days after), so two replicas whose clocks fall either side of midnight must not both plan.
PLANNING_LOCK = "hashtext('ots.dispatch'), hashtext('planning')"


@dataclass(frozen=True)
class Tuning:
    debounce: float = 1.0  # quiet seconds after the last change
    max_delay: float = 10.0  # a steady stream of changes still gets planned
    timeout: float = 60.0
    retry: float = 30.0
    tolerance: timedelta = timedelta(minutes=15)
    poll: float = 0.25


class Planner:
    def __init__(self, pool: asyncpg.Pool, matrices: MatrixProvider, solver: Solver,
                 config: PlannerConfig, tuning: Tuning, clock: Callable[[], datetime]) -> None:  # fmt: skip
        self.pool, self.matrices, self.solver = pool, matrices, solver
        self.config, self.tuning, self.clock = config, tuning, clock
        self.wake = asyncio.Event()
        self._dirty_since: float | None = None
        self._retry_at = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        def wake(*_: object) -> None:
            self.wake.set()

        async with self.pool.acquire() as listener:
            await listener.add_listener(DIRTY_CHANNEL, wake)
            try:
                while not stop.is_set():
                    try:
                        await self.step()
                    except Exception:
                        log.exception("dispatch planner step failed")
                    self.wake.clear()
                    await _wait(self.wake, self.tuning.poll)
            finally:
                await listener.remove_listener(DIRTY_CHANNEL, wake)

    async def step(self) -> bool:
        """Plan if the view changed and has settled; True if a plan was recorded."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT *, now() - changed_at AS quiet FROM {SCHEMA}.planning"
            )
        if row["dirty_version"] == row["planned_version"]:
            self._dirty_since = None
            return False
        now = time.monotonic()
        self._dirty_since = self._dirty_since or now
        settled = row["quiet"].total_seconds() >= self.tuning.debounce
        if (
            not settled and now - self._dirty_since < self.tuning.max_delay
        ) or now < self._retry_at:
            return False
        return await self.plan_partition()

    async def plan_partition(self) -> bool:
        """Plan the horizon if no other replica is planning; False if one is (it sees the
        change, or this replica's next step does)."""
        async with self.pool.acquire() as lock_conn:
            if not await lock_conn.fetchval(f"SELECT pg_try_advisory_lock({PLANNING_LOCK})"):
                return False
            try:
                return await self._plan_locked(self.clock())
            finally:
                await lock_conn.execute(f"SELECT pg_advisory_unlock({PLANNING_LOCK})")

    async def _plan_locked(self, moment: datetime) -> bool:
        async with self.pool.acquire() as conn:
            version = await dirty_version(conn)  # before the view: see store.dirty_version
            if version is None:
                return False  # another replica planned it while this one waited
            view = await load_view(conn, local_day(moment))
        started = time.perf_counter()
        try:
            result = await asyncio.wait_for(
                asyncio.to_thread(self._plan, view, moment), self.tuning.timeout
            )
        except Exception as error:
            kind = "timeout" if isinstance(error, TimeoutError) else "error"
            PLAN_FAILURES.labels(kind).inc()
            self._retry_at = time.monotonic() + self.tuning.retry
            log.warning("re-plan failed (%s: %s); keeping the last good plan", kind, error)
            return False
        PLAN_SECONDS.observe(time.perf_counter() - started)
        await self._record(view, result, version)
        self._dirty_since = None
        return True

    def _plan(self, view: View, moment: datetime) -> Plan:
        today = local_day(moment)
        routes_today = [r for (_, day), r in view.routes.items() if day == today]
        given = PlanningInput(today, moment, view.teams, view.visits, view.announced, routes_today)
        return plan(given, self.matrices, self.solver, self.config)

    async def _record(self, view: View, result: Plan, version: int) -> None:
        diff = changes(result, view.announced, view.routes, view.reasons, self.tuning.tolerance)
        served = set(result.assignments())
        async with self.pool.acquire() as conn, conn.transaction():
            revision = await next_revision(conn) if diff else 0
            await record_plan(conn, diff, served, revision, version)
            await publish(conn, diff, revision)


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
