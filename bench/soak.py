"""Soak: the whole system as separate processes under a steady day's load, several times
Jember's peak, for ten minutes. Does any service's memory grow? Is anything left behind?

    .venv/bin/python bench/soak.py [--quick] [--minutes 10] [--times 3] [--teams 6] [--seed 1]

Starts its own nats-server (JetStream) and PostgreSQL (fsync on) in a temp dir, on loopback
only, provisions the streams, migrates, and runs the four services as `ots run` does, each
with `python -m ots.cli serve NAME`. It then drives a working day's traffic through the public
interfaces with the simulator's own pieces (`ots.simulate`): operators' visit requests over
HTTP (schools, pesantren, village offices, home visits; new residents each time), dispatch's
plans followed on `ots.visit.scheduled`, and each team's gateway working its visits over NATS:
signed captures, exceptions, services, recaptures where quality falls short, and the close.
A visit dispatch cannot place (`ots.visit.unassigned`) is cancelled, as an operator would.

Load: `--times` peak days every ten minutes. Jember's peak day is the department's target of
300 recordings (domain.md), so the default 3 is 1.5 people recorded per second: about 130x
such a day spread over the 08:00-15:00 shift. The Car Free Day (one fixed appointment a week)
is left out: a steady load cannot repeat it.

After a warm-up it reads each service's resident memory (psutil, child processes included)
and every schema's tables; at the end of the load it reads them again. Then it lets the
visits under way finish, waits (bounded) for every outbox and durable consumer to drain, and
prints memory growth per service (target under 10%; the second half's growth is shown beside
it, as RSS rises for minutes after start-up and then levels), each table's rows and total
size, outbox rows left and each durable consumer's pending and ack-pending messages (target
zero), and the visits completed as intake reports them.

Exit status of a full run: 1 when the backlog is not zero, a service grew by 10% or more, a
service died or no visit completed. `--quick` (a 10 s warm-up, 20 s measured) only reports:
it fails only when the system could not run at all (a service died, nothing completed).
"""

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import itertools
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import asyncpg
import httpx
import psutil  # type: ignore[import-untyped]
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from contracts.jember import WIB
from contracts.streams import DLQ
from contracts.subjects import RECORDING_REJECTED, VISIT_SCHEDULED, VISIT_UNASSIGNED
from ots.admin import migrate_all, provision_streams
from ots.registry import MODULES, all_consumers
from ots.simulate import places, venues
from ots.simulate.gateways import Gateway
from ots.simulate.operators import Operators, RequestRefused
from ots.simulate.progress import Progress
from ots.simulate.recaptures import RecaptureInbox
from ots.simulate.scenario import WINDOW_DAYS, next_weekday
from ots.simulate.visit_plan import VisitPlan
from ots.supervisor import stop_children
from ots_gateway.keys import DeviceKey
from ots_gateway.outbox import Outbox
from ots_runtime.auth import new_key_pair
from ots_runtime.broker import ConsumerSpec, connect
from ots_runtime.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from ots_runtime.settings import Settings

SERVICES = tuple(MODULES)
PEAK_DAY_PEOPLE = 300
"""Jember's target of at least 300 recordings a day (domain.md): the peak day we load."""
PEAK_PERIOD_SECONDS = 600.0
"""`--times` peak days are driven through every this many seconds of wall clock."""
GROWTH_TARGET = 0.10
PEPPER = "soak-pepper-not-secret"
SIGNING_KEY, PUBLIC_KEYS = new_key_pair("soak")  # made afresh by every run
BIOMETRIC_KEYS = f"soak:{base64.b64encode(os.urandom(32)).decode()}"
STARTUP_SECONDS = 90.0
CAUGHT_UP_SECONDS = 60.0
MB = 1024 * 1024


@dataclass(frozen=True)
class Options:
    warmup: float
    measured: float
    times: float
    teams: int
    seed: int
    quick: bool

    @property
    def people_per_second(self) -> float:
        return self.times * PEAK_DAY_PEOPLE / PEAK_PERIOD_SECONDS

    @property
    def finish_seconds(self) -> float:
        """How long the visits under way at the end of the load may take to be worked."""
        return 45.0 if self.quick else 120.0

    @property
    def drain_seconds(self) -> float:
        return 45.0 if self.quick else 120.0

    @property
    def report_every(self) -> float:
        return 10.0 if self.quick else 30.0

    @property
    def budget(self) -> float:
        """The whole run, start-up to report: past it the soak gives up and says so."""
        return (
            STARTUP_SECONDS
            + CAUGHT_UP_SECONDS
            + self.warmup
            + self.measured
            + self.finish_seconds
            + self.drain_seconds
            + 120.0
        )


# --- the system: servers and the four services as separate processes ----------------------


@dataclass
class System:
    root: Path
    nats: EmbeddedNats
    postgres: EmbeddedPostgres
    ports: dict[str, int] = field(default_factory=lambda: {s: free_port() for s in SERVICES})
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return Settings.model_validate(
            {
                "env": "test",
                "nats_url": self.nats.url,
                "database_url": self.postgres.url,
                "token_public_keys": PUBLIC_KEYS,
                "token_signing_key": SIGNING_KEY,
                "data_dir": str(self.root / "data"),
                "bind_host": "127.0.0.1",
                **{f"{name}_port": port for name, port in self.ports.items()},
            }
        )

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTS_")}
        return env | {
            "OTS_ENV": "test",
            "OTS_NATS_URL": self.nats.url,
            "OTS_DATABASE_URL": self.postgres.url,
            "OTS_TOKEN_PUBLIC_KEYS": PUBLIC_KEYS,
            "OTS_BIOMETRIC_KEYS": BIOMETRIC_KEYS,
            "OTS_BIOMETRIC_ACTIVE_KEY": "soak",
            "OTS_LOG_LEVEL": "WARNING",
            "OTS_BIND_HOST": "127.0.0.1",
            "OTS_DATA_DIR": str(self.root / "data"),
            **{f"OTS_{name.upper()}_PORT": str(port) for name, port in self.ports.items()},
        }

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def log(self, name: str) -> Path:
        return self.root / f"{name}.log"

    def start(self, name: str) -> None:
        log = self.log(name).open("ab")
        self.children[name] = subprocess.Popen(
            [sys.executable, "-m", "ots.cli", "serve", name],
            env=self.env() | ({"OTS_TOKEN_PEPPER": PEPPER} if name == "intake" else {}),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    async def ready(self, name: str) -> None:
        async with asyncio.timeout(STARTUP_SECONDS), httpx.AsyncClient() as client:
            while True:
                if self.children[name].poll() is not None:
                    raise RuntimeError(f"{name} exited at start-up:\n{self.tail(name)}")
                with contextlib.suppress(httpx.TransportError):
                    answer = await client.get(f"{self.url(name)}/readyz")
                    if answer.status_code == 200:
                        return
                await asyncio.sleep(0.2)

    def dead(self) -> list[str]:
        return [name for name, child in self.children.items() if child.poll() is not None]

    def tail(self, name: str, lines: int = 15) -> str:
        text = self.log(name).read_text(errors="replace") if self.log(name).exists() else ""
        return "\n".join(f"    {line}" for line in text.splitlines()[-lines:])

    def stop(self) -> None:
        stop_children(self.children)
        self.postgres.stop()
        self.nats.stop()


async def bring_up(system: System) -> None:
    await provision_streams(system.settings)
    await migrate_all(system.settings)
    for name in SERVICES:
        system.start(name)
    for name in SERVICES:
        await system.ready(name)


# --- what is measured: memory, tables, backlog ---------------------------------------------


def rss_of_tree(pid: int) -> int:
    process = psutil.Process(pid)
    total: int = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += child.memory_info().rss
    return total


async def memory(system: System, samples: int = 3) -> dict[str, int]:
    """Each service's RSS (its child processes included), the median of a few samples a second
    apart: one reading can land on either side of a garbage collection."""
    readings: list[dict[str, int]] = []
    for n in range(samples):
        if n:
            await asyncio.sleep(1.0)
        readings.append(
            {
                name: rss_of_tree(child.pid)
                for name, child in system.children.items()
                if child.poll() is None
            }
        )
    names = set.intersection(*(set(r) for r in readings))
    return {name: int(statistics.median(r[name] for r in readings)) for name in sorted(names)}


def cpu_seconds(system: System) -> dict[str, float]:
    """CPU time used so far by each running service, its child processes included."""
    used: dict[str, float] = {}
    for name, child in system.children.items():
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(child.pid)
            tree = [process, *process.children(recursive=True)]
            used[name] = sum(sum(p.cpu_times()[:2]) for p in tree)
    return used


TableSizes = dict[str, tuple[int, int]]
"""schema.table → (rows, pg_total_relation_size in bytes)."""


async def table_sizes(pool: asyncpg.Pool) -> TableSizes:
    tables = await pool.fetch(
        "SELECT n.nspname AS schema, c.relname AS name, pg_total_relation_size(c.oid) AS bytes "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY($1::text[]) ORDER BY 1, 2",
        list(SERVICES),
    )
    sizes: TableSizes = {}
    for t in tables:
        rows = await pool.fetchval(f'SELECT count(*) FROM "{t["schema"]}"."{t["name"]}"')
        sizes[f"{t['schema']}.{t['name']}"] = (rows, t["bytes"])
    return sizes


@dataclass(frozen=True)
class Backlog:
    outbox: dict[str, int]
    consumers: dict[str, tuple[int, int]]
    """durable → (pending, ack pending)."""

    @property
    def total(self) -> int:
        return sum(self.outbox.values()) + sum(p + a for p, a in self.consumers.values())


def durables() -> list[ConsumerSpec]:
    return list({spec.durable: spec for spec in all_consumers()}.values())


async def backlog(pool: asyncpg.Pool, js: JetStreamContext) -> Backlog:
    outbox = {s: int(await pool.fetchval(f"SELECT count(*) FROM {s}.outbox")) for s in SERVICES}
    consumers: dict[str, tuple[int, int]] = {}
    for spec in durables():
        info = await js.consumer_info(spec.stream, spec.durable)
        consumers[spec.durable] = (info.num_pending or 0, info.num_ack_pending or 0)
    return Backlog(outbox, consumers)


async def drained(
    pool: asyncpg.Pool, js: JetStreamContext, patience: float
) -> tuple[Backlog, float]:
    """The backlog once it read zero twice a second apart, or when patience ran out; and how
    long that took."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    zero_before = False
    while True:
        left = await backlog(pool, js)
        if (left.total == 0 and zero_before) or loop.time() - started > patience:
            return left, loop.time() - started
        zero_before = left.total == 0
        await asyncio.sleep(1.0)


async def caught_up(js: JetStreamContext, patience: float) -> None:
    """Every durable has applied what is on the streams (teams and devices enrolled)."""
    async with asyncio.timeout(patience):
        while True:
            infos = [await js.consumer_info(s.stream, s.durable) for s in durables()]
            if all(not i.num_pending and not i.num_ack_pending for i in infos):
                return
            await asyncio.sleep(0.3)


# --- the load: operators' requests, dispatch's decisions, the teams' gateways --------------


def soak_teams(count: int) -> list[places.Team]:
    """`count` teams like the simulator's, based at kecamatan offices around the regency."""
    template = places.teams(1)[0].body
    bases = list(places.KECAMATAN_CENTRES.values())
    chosen = []
    for i in range(1, count + 1):
        base = bases[(i - 1) % len(bases)]
        body = template | {"name": f"Tim OTS soak {i}", "base": {"lat": base.lat, "lon": base.lon}}
        chosen.append(places.Team(f"soak-team-{i}", f"soak-gateway-{i}", body))
    return chosen


def visit_plans(seed: int, today: date) -> Iterator[VisitPlan]:
    """The simulator's working-day requests, round after round, every resident a new one."""
    taken: set[str] = set()
    day = next_weekday(today)
    window = (day, day + timedelta(days=WINDOW_DAYS))
    for round_ in itertools.count():
        rng = random.Random(f"soak-{seed}-{round_}")
        plans = [
            *venues.schools(rng, taken, window),
            venues.pesantren(rng, taken, window),
            venues.village_office(rng, taken, window),
            *venues.home_visits(rng, taken, window),
        ]
        rng.shuffle(plans)
        for plan in plans:
            yield dataclasses.replace(plan, key=f"soak-{round_}-{plan.key}")


@dataclass
class Visit:
    plan: VisitPlan
    state: str = "requested"  # → queued → working → worked; or unassigned, failed
    team_id: str | None = None


Decision = tuple[str, str | None]
"""("scheduled", team id) or ("unassigned", reason): the latest dispatch published."""
UNDER_WAY = ("requested", "queued", "working")


class Load:
    def __init__(
        self, opts: Options, operators: Operators, gateways: dict[str, Gateway], progress: Progress
    ) -> None:
        self.opts, self.operators = opts, operators
        self.gateways, self.progress = gateways, progress
        self.plans = visit_plans(opts.seed, datetime.now(WIB).date())
        self.visits: dict[str, Visit] = {}
        self.decisions: dict[str, Decision] = {}
        self.queues: dict[str, asyncio.Queue[str]] = {t: asyncio.Queue() for t in gateways}
        self.counts: Counter[str] = Counter()
        self.rejections: Counter[str] = Counter()
        self.errors: list[str] = []
        self.tasks: set[asyncio.Task[None]] = set()

    async def listen(self, nc: Client) -> None:
        await nc.subscribe(VISIT_SCHEDULED.subject(), cb=self._on_decision)
        await nc.subscribe(VISIT_UNASSIGNED.subject(), cb=self._on_decision)
        await nc.subscribe(RECORDING_REJECTED.subject(), cb=self._on_rejected)

    async def _on_decision(self, msg: Msg) -> None:
        data = json.loads(msg.data)["data"]
        if msg.subject == VISIT_SCHEDULED.subject():
            self.decisions[data["visit_id"]] = ("scheduled", data["team_id"])
        else:
            self.decisions[data["visit_id"]] = ("unassigned", data["reason"])
        self._route(data["visit_id"])

    async def _on_rejected(self, msg: Msg) -> None:
        self.rejections[json.loads(msg.data)["data"]["reason"]] += 1

    def _route(self, visit_id: str) -> None:
        """To the team dispatch named last, while no gateway has started on it."""
        visit, decision = self.visits.get(visit_id), self.decisions.get(visit_id)
        if visit is None or decision is None or visit.state not in ("requested", "queued"):
            return
        kind, detail = decision
        if kind == "unassigned":
            visit.state = "unassigned"
            self.counts[f"unassigned ({detail})"] += 1
            self._spawn(self._cancel(visit_id, str(detail)))
        elif detail != visit.team_id and detail in self.queues:
            visit.state, visit.team_id = "queued", detail
            self.queues[detail].put_nowait(visit_id)

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _cancel(self, visit_id: str, reason: str) -> None:
        await self.operators.department.call(
            "POST", f"/v1/visits/{visit_id}/cancel", json={"reason": f"soak: {reason}"}
        )

    async def _request(self, plan: VisitPlan) -> None:
        try:
            requested = await self.operators.request(plan, self.opts.seed)
        except RequestRefused as refused:
            self.counts["refused"] += 1
            self.errors.append(str(refused))
            return
        self.visits[requested.visit_id] = Visit(plan)
        self.progress.requested += 1
        self._route(requested.visit_id)

    async def produce(self, until: float) -> None:
        """Open loop: requests leave on schedule, however the system keeps up."""
        loop = asyncio.get_running_loop()
        due = loop.time()
        for plan in self.plans:
            if due >= until:
                return
            await asyncio.sleep(max(0.0, due - loop.time()))
            self._spawn(self._request(plan))
            due += max(1, len(plan.present)) / self.opts.people_per_second

    async def work(self, team_id: str) -> None:
        gateway, queue = self.gateways[team_id], self.queues[team_id]
        while True:
            visit_id = await queue.get()
            visit = self.visits[visit_id]
            if visit.state != "queued" or visit.team_id != team_id:
                continue  # moved to another team before it was started
            visit.state = "working"
            try:
                await gateway.work(visit_id, visit.plan)
                visit.state = "worked"
            except Exception as error:
                visit.state = "failed"
                self.errors.append(f"{team_id} working {visit_id}: {error!r}")

    def under_way(self) -> int:
        return sum(v.state in UNDER_WAY for v in self.visits.values()) + len(self.tasks)

    async def finish(self, patience: float) -> None:
        """Until every visit requested is worked or given up, or patience runs out."""
        for _ in range(int(patience / 0.5)):
            if not self.under_way():
                return
            await asyncio.sleep(0.5)

    def states(self) -> Counter[str]:
        return Counter(v.state for v in self.visits.values())

    async def completed_in_intake(self) -> tuple[int, list[str]]:
        worked = [k for k, v in self.visits.items() if v.state == "worked"]
        completed, other = 0, []
        for visit_id in worked:
            status = (await self.operators.visit(visit_id))["status"]
            if status == "completed":
                completed += 1
            else:
                other.append(f"{visit_id} {status}")
        return completed, other


# --- reporting -----------------------------------------------------------------------------


def size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def growth(start: int, end: int) -> float:
    return (end - start) / start if start else 0.0


def memory_lines(m: "Measured") -> list[str]:
    lines = [
        f"{'memory (RSS, children included)':<34}{'start':>10}{'end':>10}{'growth':>9}"
        f"{'2nd half':>10}{'cpu (cores)':>13}"
    ]
    for name in SERVICES:
        start, middle, end = (
            m.memory_start.get(name),
            m.memory_middle.get(name),
            m.memory_end.get(name),
        )
        if start and middle and end:
            lines.append(
                f"  {name:<32}{size(start):>10}{size(end):>10}{growth(start, end):>+9.1%}"
                f"{growth(middle, end):>+10.1%}{m.cpu.get(name, 0.0):>13.2f}"
            )
        else:
            lines.append(f"  {name:<32}{'(not running)':>29}")
    return lines


def table_lines(start: TableSizes, end: TableSizes) -> list[str]:
    lines = [f"{'tables':<34}{'rows start':>11}{'rows end':>10}{'size start':>12}{'size end':>10}"]
    for name in sorted(set(start) | set(end)):
        rows0, bytes0 = start.get(name, (0, 0))
        rows1, bytes1 = end.get(name, (0, 0))
        lines.append(f"  {name:<32}{rows0:>11}{rows1:>10}{size(bytes0):>12}{size(bytes1):>10}")
    total0, total1 = sum(b for _, b in start.values()), sum(b for _, b in end.values())
    lines.append(f"  {'all tables':<32}{'':>21}{size(total0):>12}{size(total1):>10}")
    return lines


def backlog_lines(left: Backlog, waited: float, patience: float) -> list[str]:
    outbox = ", ".join(f"{s} {n}" for s, n in left.outbox.items())
    lines = [
        f"backlog after the drain ({waited:.0f} s of at most {patience:.0f} s)",
        f"  outbox rows left: {outbox}",
        f"  {'durable consumer':<32}{'pending':>9}{'ack pending':>13}",
    ]
    for durable, (pending, acking) in left.consumers.items():
        lines.append(f"  {durable:<32}{pending:>9}{acking:>13}")
    return lines


async def show_progress(load: Load, system: System, started: float, every: float) -> None:
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(every)
        states, p = load.states(), load.progress
        rss = " ".join(f"{n} {size(b)}" for n, b in (await memory(system, samples=1)).items())
        print(
            f"[{loop.time() - started:5.0f} s] requested {p.requested} · worked "
            f"{states['worked']} · under way {load.under_way()} · people {p.recorded} · "
            f"recaptures {p.recaptures} · rejected {sum(load.rejections.values())} · "
            f"rss {rss}",
            flush=True,
        )


# --- the run ----------------------------------------------------------------------------


@dataclass
class Measured:
    memory_start: dict[str, int]
    memory_middle: dict[str, int]
    """Halfway through the measured load: growth only in the first half is warming up."""
    memory_end: dict[str, int]
    cpu: dict[str, float]
    """Each service's CPU over the measured load, in cores (1.0 = one core all the time)."""
    tables_start: TableSizes
    tables_end: TableSizes
    backlog: Backlog
    completed: int
    not_completed: list[str]
    dead_letters: int


async def enrolled_gateways(
    system: System, js: JetStreamContext, operators: Operators, opts: Options, progress: Progress
) -> dict[str, Gateway]:
    teams = soak_teams(opts.teams)
    keys = {t.team_id: DeviceKey.generate() for t in teams}
    await operators.enrol(teams, {t.device_id: keys[t.team_id].public_key_b64 for t in teams})
    await caught_up(js, CAUGHT_UP_SECONDS)
    outboxes = Path(tempfile.mkdtemp(prefix="ots-soak-outboxes-"))  # the tablets' SQLite
    gateways = {
        t.team_id: Gateway(js, Outbox(outboxes / f"{t.device_id}.db", t.device_id, keys[t.team_id]),
                           RecaptureInbox(js, t.device_id), progress)
        for t in teams
    }  # fmt: skip
    for gateway in gateways.values():
        await gateway.inbox.open()
    return gateways


async def sleep_until(at: float) -> None:
    await asyncio.sleep(max(0.0, at - asyncio.get_running_loop().time()))


async def drive(system: System, opts: Options) -> tuple[Load, Measured]:
    nc = await connect(system.nats.url, name="ots-soak")
    pool = await asyncpg.create_pool(system.postgres.url, min_size=1, max_size=2)
    operators = await Operators.sign_in(system.settings, system.url("intake"))
    js, progress = nc.jetstream(), Progress()
    background: list[asyncio.Task[None]] = []
    load: Load | None = None
    try:
        gateways = await enrolled_gateways(system, js, operators, opts, progress)
        load = Load(opts, operators, gateways, progress)
        await load.listen(nc)
        loop = asyncio.get_running_loop()
        started = loop.time()
        measure_from, load_until = started + opts.warmup, started + opts.warmup + opts.measured
        background = [asyncio.create_task(load.work(team)) for team in gateways]
        background.append(
            asyncio.create_task(show_progress(load, system, started, opts.report_every))
        )
        producing = asyncio.create_task(load.produce(until=load_until))
        await sleep_until(measure_from)
        memory_start, tables_start = await memory(system), await table_sizes(pool)
        cpu_start, cpu_from = cpu_seconds(system), loop.time()
        print(
            "measuring from here: " + " ".join(f"{n} {size(b)}" for n, b in memory_start.items()),
            flush=True,
        )
        await sleep_until(measure_from + opts.measured / 2)
        memory_middle = await memory(system)
        await sleep_until(load_until - 2.0)  # the three samples end as the load does
        memory_end = await memory(system)
        cpu_end, cpu_span = cpu_seconds(system), loop.time() - cpu_from
        cpu = {n: (cpu_end[n] - cpu_start[n]) / cpu_span for n in cpu_start if n in cpu_end}
        await producing
        await load.finish(opts.finish_seconds)
        for task in background:
            task.cancel()
        left, waited = await drained(pool, js, opts.drain_seconds)
        print("\n".join(backlog_lines(left, waited, opts.drain_seconds)), flush=True)
        completed, not_completed = await load.completed_in_intake()
        dead_letters = (await js.stream_info(DLQ.name)).state.messages
        measured = Measured(
            memory_start,
            memory_middle,
            memory_end,
            cpu,
            tables_start,
            await table_sizes(pool),
            left,
            completed,
            not_completed,
            dead_letters,
        )
        for gateway in gateways.values():
            await gateway.inbox.close()
        return load, measured
    finally:
        for task in [*background, *(load.tasks if load else ())]:
            task.cancel()
        await operators.aclose()
        await pool.close()
        await nc.close()


def verdict(opts: Options, system: System, load: Load, m: Measured) -> tuple[bool, str]:
    problems: list[str] = []
    dead = system.dead()
    if dead:
        problems.append(f"died: {', '.join(dead)}")
    if not m.completed:
        problems.append("no visit completed")
    fatal = bool(problems)
    grown = {
        n: growth(m.memory_start[n], m.memory_end[n]) for n in m.memory_start if n in m.memory_end
    }
    worst = max(grown, key=lambda n: grown[n]) if grown else None
    if worst is not None and grown[worst] >= GROWTH_TARGET:
        problems.append(f"{worst} memory grew {grown[worst]:+.1%} (target < {GROWTH_TARGET:.0%})")
    if m.backlog.total:
        problems.append(f"backlog {m.backlog.total} after the drain (target 0)")
    summary = (
        f"backlog {m.backlog.total}, largest memory growth "
        f"{f'{worst} {grown[worst]:+.1%}' if worst else 'n/a'} (target < "
        f"{GROWTH_TARGET:.0%}), {m.completed}/{load.states()['worked']} worked visits "
        "completed"
    )
    ok = not problems
    if opts.quick:
        line = (
            f"soak verdict (quick, reported only): {'PASS' if ok else 'would FAIL'}: "
            f"{summary}{'; ' + '; '.join(problems) if problems else ''}"
        )
        return not fatal, line
    line = f"soak verdict: {'PASS' if ok else 'FAIL'}: {summary}"
    return ok, line + ("; " + "; ".join(problems) if problems else "")


def report(opts: Options, system: System, load: Load, m: Measured) -> bool:
    states, p = load.states(), load.progress
    lines = [
        "",
        f"load: {opts.times:g} peak day(s) of {PEAK_DAY_PEOPLE} recordings per "
        f"{PEAK_PERIOD_SECONDS / 60:.0f} min = {opts.people_per_second:.2f} people/s, "
        f"{opts.teams} teams; warm-up {opts.warmup:.0f} s, measured {opts.measured:.0f} s",
        f"visits requested {p.requested} (refused {load.counts['refused']}), worked "
        f"{states['worked']}, completed in intake {m.completed}/{states['worked']}, still "
        f"under way {sum(states[s] for s in UNDER_WAY)}, failed {states['failed']}; "
        f"people recorded {p.recorded}, recaptures {p.recaptures}",
        "unassigned and cancelled: "
        + (", ".join(f"{k} {n}" for k, n in load.counts.items() if k != "refused") or "none"),
        "captures rejected: "
        + (", ".join(f"{r} {n}" for r, n in load.rejections.items()) or "none")
        + f"; dead letters {m.dead_letters}",
        *memory_lines(m),
        *table_lines(m.tables_start, m.tables_end),
    ]
    problems = [*load.errors, *(x for g in load.gateways.values() for x in g.problems)]
    if m.not_completed or problems:
        lines.append("first problems: " + "; ".join([*m.not_completed, *problems][:5]))
    for name in system.dead():
        lines += [f"{name} died; the end of its log:", system.tail(name)]
    ok, line = verdict(opts, system, load, m)
    print("\n".join([*lines, line]), flush=True)
    return ok


async def soak(system: System, opts: Options) -> bool:
    await bring_up(system)
    print(
        f"system up: nats {system.nats.url}, postgres 127.0.0.1:{system.postgres.port}, "
        + ", ".join(f"{n} :{p}" for n, p in system.ports.items()),
        flush=True,
    )
    load, measured = await drive(system, opts)
    return report(opts, system, load, measured)


async def within_budget(system: System, opts: Options) -> bool:
    try:
        async with asyncio.timeout(opts.budget):
            return await soak(system, opts)
    except TimeoutError:
        print(f"soak verdict: FAIL: not done within its budget of {opts.budget:.0f} s", flush=True)
        return False


def interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def parse_options(argv: list[str] | None) -> Options:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="10 s warm-up, 20 s measured; report only")
    p.add_argument("--minutes", type=float, default=10.0, help="measured load (default 10)")
    p.add_argument("--warmup", type=float, default=60.0, help="seconds before measuring")
    p.add_argument(
        "--times",
        type=float,
        default=3.0,
        help="peak days (300 recordings) per 10 minutes (default 3)",
    )
    p.add_argument("--teams", type=int, default=6)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv)
    warmup, measured = (10.0, 20.0) if a.quick else (a.warmup, a.minutes * 60)
    return Options(warmup, measured, a.times, a.teams, a.seed, a.quick)


def main(argv: list[str] | None = None) -> int:
    opts = parse_options(argv)
    signal.signal(signal.SIGTERM, interrupted)
    with tempfile.TemporaryDirectory(prefix="ots-soak-") as tmp:
        root = Path(tmp)
        os.chmod(root, 0o755)
        system = System(root, EmbeddedNats(root / "nats"), EmbeddedPostgres(root / "pg" / "data"))
        try:
            system.nats.start()
            system.postgres.start()
            ok = asyncio.run(within_budget(system, opts))
        except KeyboardInterrupt:
            print("soak verdict: FAIL: interrupted", flush=True)
            ok = False
        finally:
            system.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
