"""Intake throughput and latency against a minimal FastAPI app, on real NATS and PostgreSQL.

    .venv/bin/python bench/intake.py [--quick] [--concurrency 16] [--requests 1000] [--rounds 3]

Starts its own nats-server (JetStream) and PostgreSQL (durable: fsync on) in a temp dir,
provisions the streams, migrates every schema and creates an operator token. Then runs two
servers, each in its own uvicorn process with the same uvicorn settings as `ots serve`:

* `intake`: the real service (`ots serve intake`), with its outbox relay and consumers;
* `minimal`: one `POST /v1/visits` that parses the body into `NewVisit` and answers 201.

Phase 1 is closed-loop: `--concurrency` keep-alive connections, each sending the next request
as soon as its previous answer arrived; the two targets alternate, round by round, so machine
noise hits both alike. Phase 2 is open-loop: a fixed rate against intake, latency counted from
each request's scheduled send time, so a slow server cannot slow the load down.

Every request is a valid home visit for residents no other request names (intake refuses a NIK
already in an open request). The load generator is a small raw-asyncio HTTP/1.1 client, so its
own cost stays well below the servers'. Afterwards the bench checks that the outbox drained and
that OTS_EVENTS holds one `ots.visit.requested` per visit created.

Exit status: 0 when every intake request got 201 and the outbox and stream checks pass;
1 otherwise. The throughput ratio and the fixed-rate p99 are reported, never fatal: the
numbers depend on the machine.

`--profile FILE` runs the intake under cProfile and prints its hottest functions; profiling
slows the intake down a lot, so its throughput is then not comparable.
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from contracts.jember import WIB, kecamatan_names
from contracts.streams import EVENTS
from contracts.subjects import VISIT_REQUESTED
from ots.admin import migrate_all, new_token, provision_streams
from ots_runtime.auth import new_key_pair
from ots_runtime.broker import connect
from ots_runtime.embedded import EmbeddedNats, EmbeddedPostgres, free_port, wait_for_port
from ots_runtime.settings import Settings
from services.intake.tokens import Role

PEPPER = "bench-pepper-xyz"
SIGNING_KEY, PUBLIC_KEYS = new_key_pair("bench")  # made afresh by every run
PATH = "/v1/visits"
REQUEST_TIMEOUT = 30.0
STARTUP_TIMEOUT = 60.0
DRAIN_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0
PROFILE_ENV = "OTS_BENCH_PROFILE"
P99_TARGET_MS = 50.0
RATIO_TARGET = 0.5
ERROR = -1
"""The status recorded for a request that got no HTTP answer (connection lost, timeout)."""


# --- the servers under test, each run in a child process -------------------------------------


def serve_intake() -> int:
    """`ots serve intake`, optionally under cProfile (the path in OTS_BENCH_PROFILE)."""
    from ots.cli import main as ots_main

    profile_path = os.environ.get(PROFILE_ENV)
    if not profile_path:
        with contextlib.suppress(KeyboardInterrupt):
            return ots_main(["serve", "intake"])
        return 0
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        with contextlib.suppress(KeyboardInterrupt):
            ots_main(["serve", "intake"])
    finally:
        profiler.disable()
        profiler.dump_stats(profile_path)
    return 0


def serve_minimal(port: int) -> int:
    """The baseline: FastAPI parses the same body into `NewVisit`, and nothing else happens."""
    import uuid

    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    from ots_runtime.logs import configure_logging
    from services.intake.domain.request import NewVisit

    app = FastAPI(title="minimal")

    @app.post(PATH, status_code=201)
    async def create_visit(visit: NewVisit) -> JSONResponse:
        body = {"visit_id": f"v-{uuid.uuid4().hex[:20]}", "status": "requested"}
        return JSONResponse(body, status_code=201)

    configure_logging("WARNING", "minimal")
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.run(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False,
            loop="uvloop", http="httptools",
        )  # fmt: skip
    return 0


def process_cpu_seconds(pid: int, *, children: bool = False) -> float:
    """CPU time of a process from /proc; with `children`, also of its children, live or reaped."""
    ticks = os.sysconf("SC_CLK_TCK")

    def stat(p: int | str) -> list[str]:
        return Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()

    own = stat(pid)
    total = int(own[11]) + int(own[12])  # utime, stime
    if children:
        total += int(own[13]) + int(own[14])  # cutime, cstime: reaped children
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = stat(entry.name)
                if int(fields[1]) == pid:  # ppid
                    total += int(fields[11]) + int(fields[12])
    return total / ticks


@dataclass
class ServerProcess:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, name: str, work: Path, env: dict[str, str], port: int) -> "ServerProcess":
        log = work / f"{name}.log"
        args = [sys.executable, str(Path(__file__).resolve()), "--serve", name, "--port", str(port)]
        with log.open("ab") as out:
            process = subprocess.Popen(
                args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        return cls(name, port, process, log)

    def cpu_seconds(self) -> float | None:
        try:
            return process_cpu_seconds(self.process.pid)
        except (OSError, IndexError, ValueError):
            return None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = STOP_TIMEOUT) -> bool:
        """SIGINT (uvicorn shuts down gracefully), then SIGKILL after `timeout` seconds.

        Returns whether the process had exited by itself."""
        if self.process.poll() is not None:
            return True
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            return False


# --- requests ----------------------------------------------------------------------------------


def unique_niks() -> Iterator[str]:
    """Structurally valid Jember NIKs of adult men, none repeated: kecamatan varies fastest."""
    codes = sorted(kecamatan_names())
    combos = itertools.product(range(1, 10000), range(70, 100), range(1, 13), range(1, 29), codes)
    for serial, year, month, day, code in combos:
        yield f"{code}{day:02d}{month:02d}{year:02d}{serial:04d}"


def home_visit(nik: str, n: int, today: date) -> dict[str, Any]:
    return {
        "requester": {"agency_type": "dinsos", "agency_name": "Dinas Sosial Jember"},
        "venue": {
            "type": "home", "name": f"Rumah Warga {n}", "address": f"Jl. Kenanga {n % 200 + 1}",
            "kecamatan_code": nik[:6], "lat": -8.27, "lon": 113.45,
        },
        "services": ["ktp_el_recording"],
        "residents": [{"nik": nik, "name": f"Warga {n}", "needs": ["bedridden"]}],
        "expected_people": 1,
        "priority": "high",
        "priority_reasons": ["bedridden"],
        "window": {
            "earliest": (today + timedelta(days=1)).isoformat(),
            "latest": (today + timedelta(days=14)).isoformat(),
        },
    }  # fmt: skip


class RequestFactory:
    """Pre-encoded HTTP/1.1 requests, each a home visit for a resident never named before."""

    def __init__(self, token: str) -> None:
        self._niks = unique_niks()
        self._count = 0
        self._token = token
        self._today = datetime.now(WIB).date()

    def take(self, n: int, port: int) -> list[bytes]:
        return [self._one(port) for _ in range(n)]

    def _one(self, port: int) -> bytes:
        self._count += 1
        body = json.dumps(home_visit(next(self._niks), self._count, self._today)).encode()
        head = (
            f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {self._token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body


# --- a lean HTTP/1.1 keep-alive client ---------------------------------------------------------


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> "Connection":
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, request: bytes) -> tuple[int, bytes]:
        self._writer.write(request)
        await self._writer.drain()
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length: int | None = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise ValueError("response without Content-Length")
        return status, await self._reader.readexactly(length)

    def close(self) -> None:
        self._writer.close()


SEND_ERRORS = (OSError, EOFError, TimeoutError, ValueError, asyncio.IncompleteReadError)


# --- measurements ------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = math.ceil(q * len(sorted_values))  # nearest rank
    return sorted_values[min(len(sorted_values), max(1, rank)) - 1]


@dataclass
class Result:
    label: str
    sent: int
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    cpu: dict[str, float | None] = field(default_factory=dict)
    """CPU seconds spent during the phase by: the server, PostgreSQL, this load generator."""

    def record(self, latency: float, status: int, body: bytes) -> None:
        self.latencies.append(latency)
        ok = status == 201 and b'"requested"' in body
        self.statuses[201 if ok else status] += 1
        if not ok and len(self.failures) < 5:
            text = body[:300].decode(errors="replace")
            self.failures.append(f"{status} {text}" if status != ERROR else text)

    @property
    def ok(self) -> int:
        return self.statuses[201]

    @property
    def failed(self) -> int:
        return self.sent - self.ok

    @property
    def throughput(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def ms(self, q: float) -> float:
        return 1000 * percentile(sorted(self.latencies), q)

    def cpu_ms_per_request(self, who: str) -> str:
        seconds = self.cpu.get(who)
        if seconds is None or not self.sent:
            return "-"
        return f"{1000 * seconds / self.sent:.2f}"


class Progress:
    """One self-rewriting line on stderr (a line per finished phase when stderr is no tty)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.label, self.done, self.total = "", 0, 0

    @contextlib.asynccontextmanager
    async def phase(self, label: str, total: int) -> AsyncIterator[None]:
        self.label, self.done, self.total = label, 0, total
        ticker = asyncio.create_task(self._tick()) if self.tty else None
        try:
            yield
        finally:
            if ticker:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
                sys.stderr.write("\r\033[K")
            else:
                sys.stderr.write(f"  {label}: {self.done}/{total} done\n")
            sys.stderr.flush()

    async def _tick(self) -> None:
        while True:
            width = 30
            filled = width * self.done // max(1, self.total)
            bar = "#" * filled + "." * (width - filled)
            sys.stderr.write(f"\r  {self.label:<24} [{bar}] {self.done}/{self.total}")
            sys.stderr.flush()
            await asyncio.sleep(0.2)


CPU_OF = ("server", "postgres", "client")


@dataclass
class CpuMeter:
    """CPU seconds so far of the server under test, of PostgreSQL (postmaster and backends)
    and of this process, which generates the load."""

    server: ServerProcess
    postgres_pid: int

    def read(self) -> dict[str, float | None]:
        try:
            postgres: float | None = process_cpu_seconds(self.postgres_pid, children=True)
        except (OSError, IndexError, ValueError):
            postgres = None
        return {"server": self.server.cpu_seconds(), "postgres": postgres,
                "client": time.process_time()}  # fmt: skip

    @staticmethod
    def spent(
        before: dict[str, float | None], after: dict[str, float | None]
    ) -> dict[str, float | None]:
        return {
            who: None if (b := before.get(who)) is None or (a := after.get(who)) is None else a - b
            for who in CPU_OF
        }


async def closed_loop(
    meter: CpuMeter, label: str, requests: list[bytes], concurrency: int, progress: Progress
) -> Result:
    server = meter.server
    result = Result(label, len(requests))
    connections = [await Connection.open(server.port) for _ in range(concurrency)]
    pending = iter(requests)

    async def worker(conn: Connection) -> None:
        for request in pending:
            started = time.perf_counter()
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    status, body = await conn.send(request)
            except SEND_ERRORS as error:
                result.record(time.perf_counter() - started, ERROR, repr(error).encode())
                conn.close()
                conn = await Connection.open(server.port)
            else:
                result.record(time.perf_counter() - started, status, body)
            progress.done += 1
        conn.close()

    async with progress.phase(label, len(requests)):
        cpu_before = meter.read()
        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in connections))
        result.elapsed = time.perf_counter() - started
        result.cpu = CpuMeter.spent(cpu_before, meter.read())
    return result


@dataclass
class OpenLoop:
    result: Result
    rate: float
    duration: float
    send_rate: float
    max_connections: int


async def open_loop(
    meter: CpuMeter,
    requests: list[bytes],
    rate: float,
    idle_connections: int,
    progress: Progress,
) -> OpenLoop:
    """Send request i at start + i/rate whatever happened to the others; latency counts from then."""
    server = meter.server
    result = Result("intake fixed rate", len(requests))
    idle = [await Connection.open(server.port) for _ in range(idle_connections)]
    opened = len(idle)

    async def one(request: bytes, scheduled: float) -> None:
        nonlocal opened
        conn: Connection | None = None
        try:
            if idle:
                conn = idle.pop()
            else:
                conn = await Connection.open(server.port)
                opened += 1
            async with asyncio.timeout(REQUEST_TIMEOUT):
                status, body = await conn.send(request)
        except SEND_ERRORS as error:
            result.record(time.perf_counter() - scheduled, ERROR, repr(error).encode())
            if conn is not None:
                conn.close()
        else:
            result.record(time.perf_counter() - scheduled, status, body)
            idle.append(conn)
        progress.done += 1

    tasks: list[asyncio.Task[None]] = []
    async with progress.phase("intake fixed rate", len(requests)):
        cpu_before = meter.read()
        start = time.perf_counter() + 0.01
        for i, request in enumerate(requests):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(request, scheduled)))
        send_span = time.perf_counter() - start
        await asyncio.gather(*tasks)
        result.elapsed = time.perf_counter() - start
        result.cpu = CpuMeter.spent(cpu_before, meter.read())
    for conn in idle:
        conn.close()
    send_rate = len(requests) / send_span if send_span > 0 else float("nan")
    return OpenLoop(result, rate, len(requests) / rate, send_rate, opened)


# --- report ------------------------------------------------------------------------------------

HEADER = (
    f"  {'':<8} {'':>6} {'':>6} {'':>6} {'':>6} {'':>7} {'':>7} {'':>7} {'':>7}"
    f"  {'CPU ms per request':^20}\n"
    f"  {'target':<8} {'sent':>6} {'201':>6} {'failed':>6} {'secs':>6} {'req/s':>7} "
    f"{'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}  {'server':>6} {'pg':>6} {'client':>6}"
)


def row(r: Result) -> str:
    cpu = " ".join(f"{r.cpu_ms_per_request(who):>6}" for who in CPU_OF)
    return (
        f"  {r.label:<8} {r.sent:>6} {r.ok:>6} {r.failed:>6} {r.elapsed:>6.2f} "
        f"{r.throughput:>7.0f} {r.ms(0.50):>7.1f} {r.ms(0.99):>7.1f} {r.ms(1.0):>7.1f}  {cpu}"
    )


def merged(label: str, results: Iterable[Result]) -> Result:
    total = Result(label, 0)
    cpu: dict[str, float | None] = dict.fromkeys(CPU_OF, 0.0)
    for r in results:
        total.sent += r.sent
        total.latencies += r.latencies
        total.statuses += r.statuses
        total.failures += r.failures
        total.elapsed += r.elapsed
        for who in CPU_OF:
            mine, theirs = cpu[who], r.cpu.get(who)
            cpu[who] = None if mine is None or theirs is None else mine + theirs
    total.cpu = cpu
    total.failures = total.failures[:5]
    return total


def print_failures(r: Result) -> None:
    if not r.failed:
        return
    codes = ", ".join(f"{c if c != ERROR else 'no answer'}: {n}" for c, n in r.statuses.items())
    print(f"  {r.label}: {r.failed} failed ({codes}); first ones:")
    for failure in r.failures:
        print(f"    {failure}")


# --- setup and checks --------------------------------------------------------------------------


async def prepare(nats_url: str, database_url: str) -> str:
    """Streams, schemas and an operator token, as `ots streams`, `ots migrate` and `ots tokens
    create` make them; returns the token."""
    settings = Settings(
        env="test",
        nats_url=nats_url,
        database_url=database_url,
        token_public_keys=PUBLIC_KEYS,
        token_signing_key=SIGNING_KEY,
    )
    await provision_streams(settings)
    await migrate_all(settings)
    return await new_token(settings, Role.OPERATOR, "dispendukcapil", "bench")


async def wait_ready(server: ServerProcess, ready_path: str | None) -> None:
    await asyncio.to_thread(
        wait_for_port, server.port, timeout=STARTUP_TIMEOUT, process=server.process
    )
    if ready_path is None:
        return
    deadline = time.monotonic() + STARTUP_TIMEOUT
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(ready_path)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{server.name} not ready after {STARTUP_TIMEOUT}s")


async def verify_events(nats_url: str, database_url: str, created: int) -> bool:
    """The outbox drains, and OTS_EVENTS holds one visit.requested per visit created."""
    subject = VISIT_REQUESTED.subject()
    conn = await asyncpg.connect(database_url)
    try:
        started = time.monotonic()
        pending: int = await conn.fetchval("SELECT count(*) FROM intake.outbox")
        while pending and time.monotonic() - started < DRAIN_TIMEOUT:
            await asyncio.sleep(0.2)
            pending = await conn.fetchval("SELECT count(*) FROM intake.outbox")
        waited = time.monotonic() - started
        visits: int = await conn.fetchval("SELECT count(*) FROM intake.visits")
    finally:
        await conn.close()
    nc = await connect(nats_url, name="ots-bench-check")
    try:
        info = await nc.jetstream().stream_info(EVENTS.name, subjects_filter=subject)
        in_stream = (info.state.subjects or {}).get(subject, 0)
    finally:
        await nc.close()
    drained = pending == 0
    matches = created == visits == in_stream
    print("\nevents")
    state = "drained" if drained else f"NOT drained: {pending} left"
    print(f"  intake.outbox: {state} ({waited:.1f} s after the last request)")
    print(f"  visits answered 201: {created}; rows in intake.visits: {visits}; "
          f"{subject} in {EVENTS.name}: {in_stream} -> {'match' if matches else 'MISMATCH'}")  # fmt: skip
    return drained and matches


# --- the run -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    concurrency: int
    requests: int
    rounds: int
    warmup: int
    rate: float
    duration: float
    profile: Path | None


async def measure(
    opts: Options, intake: ServerProcess, minimal: ServerProcess, token: str, nats_url: str,
    postgres: EmbeddedPostgres,
) -> bool:  # fmt: skip
    await asyncio.gather(wait_ready(intake, "/readyz"), wait_ready(minimal, None))
    assert postgres.process is not None
    meters = {s.name: CpuMeter(s, postgres.process.pid) for s in (intake, minimal)}
    factory = RequestFactory(token)
    progress = Progress()
    created = 0

    async def run(server: ServerProcess, label: str, n: int) -> Result:
        nonlocal created
        requests = factory.take(n, server.port)
        r = await closed_loop(meters[server.name], label, requests, opts.concurrency, progress)
        if server is intake:
            created += r.ok
        return r

    print(f"closed loop: {opts.concurrency} connections, {opts.requests} requests per target "
          f"per round, {opts.rounds} round(s), after {opts.warmup} warm-up requests each")  # fmt: skip
    warm = [await run(minimal, "warm-up minimal", opts.warmup),
            await run(intake, "warm-up intake", opts.warmup)]  # fmt: skip
    baseline: list[Result] = []
    service: list[Result] = []
    for n in range(1, opts.rounds + 1):
        b = await run(minimal, "minimal", opts.requests)
        s = await run(intake, "intake", opts.requests)
        baseline.append(b)
        service.append(s)
        ratio = s.throughput / b.throughput if b.throughput else float("nan")
        print(f"\nround {n}/{opts.rounds}\n{HEADER}\n{row(b)}\n{row(s)}")
        print(f"  intake/minimal throughput: {ratio:.2f}")

    total_b, total_s = merged("minimal", baseline), merged("intake", service)
    print(f"\nall rounds\n{HEADER}\n{row(total_b)}\n{row(total_s)}")
    for r in (*warm, total_b, total_s):
        print_failures(r)
    ratios = sorted(s.throughput / b.throughput for b, s in zip(baseline, service, strict=True)
                    if b.throughput)  # fmt: skip
    ratio = total_s.throughput / total_b.throughput if total_b.throughput else float("nan")
    if len(ratios) > 1:
        print(f"  per-round ratios: {', '.join(f'{x:.2f}' for x in ratios)}")
    print(f"intake/minimal throughput ratio: {ratio:.2f} (target >= {RATIO_TARGET})")

    count = max(1, round(opts.rate * opts.duration))
    fixed = await open_loop(
        meters["intake"], factory.take(count, intake.port), opts.rate, opts.concurrency, progress
    )
    created += fixed.result.ok
    r = fixed.result
    p99 = r.ms(0.99)
    print(f"\nopen loop: intake at {fixed.rate:.0f} req/s for {fixed.duration:.1f} s "
          f"({r.sent} requests, sent at {fixed.send_rate:.1f} req/s, "
          f"{fixed.max_connections} connections)")  # fmt: skip
    print(f"  201: {r.ok}, failed: {r.failed}; latency p50 {r.ms(0.5):.1f} ms, p99 {p99:.1f} ms, "
          f"max {r.ms(1.0):.1f} ms; CPU ms/request: intake {r.cpu_ms_per_request('server')}, "
          f"postgres {r.cpu_ms_per_request('postgres')}, client {r.cpu_ms_per_request('client')}")  # fmt: skip
    print(f"  p99 < {P99_TARGET_MS:.0f} ms: {'yes' if p99 < P99_TARGET_MS else 'NO'}")
    print_failures(r)

    events_ok = await verify_events(nats_url, postgres.url, created)
    intake_failures = sum(x.failed for x in (warm[1], total_s, r))
    if intake_failures:
        print(f"\nFAILED: {intake_failures} intake request(s) did not get 201")
    return intake_failures == 0 and events_ok


def print_profile(path: Path) -> None:
    import pstats

    if not path.exists():
        print(f"\nno profile written to {path}")
        return
    stats = pstats.Stats(str(path), stream=sys.stdout)
    print(f"\nintake profile ({path}): own time by package, the event loop's idle wait left out")
    by_package: Counter[str] = Counter()
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    for (filename, _, function), (_, _, own, *_) in raw.items():
        if function == IDLE_WAIT:
            continue
        by_package[package_of(filename, function)] += own
    busy = sum(by_package.values())
    print(f"  busy {busy:.2f} s in all")
    for package, seconds in by_package.most_common(15):
        print(f"  {seconds:7.3f} s {100 * seconds / busy:5.1f}%  {package}")
    print("\nby own time:")
    stats.strip_dirs().sort_stats("tottime").print_stats(30)
    print("by cumulative time (a coroutine's counts only while it runs):")
    stats.sort_stats("cumulative").print_stats(40)


IDLE_WAIT = "<method 'poll' of 'select.epoll' objects>"


def package_of(filename: str, function: str) -> str:
    if filename == "~":
        return f"(built-in) {function[:60]}"
    path = Path(filename)
    if "site-packages" in path.parts:
        return path.parts[path.parts.index("site-packages") + 1]
    root = Path(__file__).resolve().parent.parent
    if path.is_relative_to(root):
        return path.relative_to(root).parts[0]
    top = path.stem if path.parent.name.startswith("python") or not path.parent.name else None
    return f"(stdlib) {top or path.parent.name}"


def run_bench(opts: Options) -> int:
    with tempfile.TemporaryDirectory(prefix="ots-bench-") as tmp, contextlib.ExitStack() as stack:
        work = Path(tmp)
        os.chmod(work, 0o755)
        print(f"starting nats-server and PostgreSQL (fsync on) in {work}", file=sys.stderr)
        nats = EmbeddedNats(work / "nats")
        stack.callback(nats.stop)
        nats.start()
        postgres = EmbeddedPostgres(work / "pg" / "data")
        stack.callback(postgres.stop)
        postgres.start()
        token = asyncio.run(prepare(nats.url, postgres.url))

        env = dict(os.environ)
        env.update(
            OTS_ENV="test", OTS_NATS_URL=nats.url, OTS_DATABASE_URL=postgres.url,
            OTS_LOG_LEVEL="WARNING", OTS_DATA_DIR=str(work / "ots"),
            OTS_TOKEN_PUBLIC_KEYS=PUBLIC_KEYS,
        )  # fmt: skip
        env.pop(PROFILE_ENV, None)
        minimal = ServerProcess.start("minimal", work, env, free_port())
        stack.callback(minimal.stop)
        intake_env = dict(env, OTS_TOKEN_PEPPER=PEPPER)  # the console's session key: intake's alone
        if opts.profile:
            intake_env[PROFILE_ENV] = str(opts.profile.resolve())
        intake_port = free_port()
        intake_env["OTS_INTAKE_PORT"] = str(intake_port)
        intake = ServerProcess.start("intake", work, intake_env, intake_port)
        stack.callback(intake.stop)
        print(f"intake (pid {intake.process.pid}) on :{intake.port}, "
              f"minimal (pid {minimal.process.pid}) on :{minimal.port}", file=sys.stderr)  # fmt: skip
        try:
            passed = asyncio.run(measure(opts, intake, minimal, token, nats.url, postgres))
        except BaseException:
            for server in (intake, minimal):
                if server.process.poll() is not None:
                    print(f"{server.name} exited with {server.process.returncode}; its log:\n"
                          f"{server.log_tail()}", file=sys.stderr)  # fmt: skip
            raise
        stop_started = time.monotonic()
        graceful = intake.stop(timeout=STOP_TIMEOUT * (6 if opts.profile else 1))
        if graceful:
            print(f"\nintake stopped {time.monotonic() - stop_started:.1f} s after SIGINT")
        else:
            tail = intake.log_tail()
            print(f"\nintake did not stop within {time.monotonic() - stop_started:.0f} s of "
                  f"SIGINT and was killed{'; its log:' if tail else ''}\n{tail}")  # fmt: skip
        minimal.stop()
        if opts.profile:
            print_profile(opts.profile)
        return 0 if passed else 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/intake.py", description="Intake vs a minimal FastAPI app, on real NATS and PG."
    )
    p.add_argument("--quick", action="store_true",
                   help="a smoke run: 100 requests, 1 round, 2 s of fixed rate")  # fmt: skip
    p.add_argument("--concurrency", type=int, default=16, help="connections (default 16)")
    p.add_argument("--requests", type=int, default=None,
                   help="requests per target per round (default 1000)")  # fmt: skip
    p.add_argument("--rounds", type=int, default=None, help="rounds (default 3)")
    p.add_argument("--warmup", type=int, default=None,
                   help="warm-up requests per target (default 200)")  # fmt: skip
    p.add_argument("--rate", type=float, default=200.0, help="open-loop req/s (default 200)")
    p.add_argument("--duration", type=float, default=None,
                   help="open-loop seconds (default 5)")  # fmt: skip
    p.add_argument("--profile", type=Path, default=None,
                   help="run the intake under cProfile, write pstats here and print the top")  # fmt: skip
    p.add_argument("--serve", choices=["intake", "minimal"], help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def options(args: argparse.Namespace) -> Options:
    quick = bool(args.quick)

    def pick(value: Any, default: Any, quick_default: Any) -> Any:
        return value if value is not None else quick_default if quick else default

    opts = Options(
        concurrency=args.concurrency,
        requests=pick(args.requests, 1000, 100),
        rounds=pick(args.rounds, 3, 1),
        warmup=pick(args.warmup, 200, 30),
        rate=args.rate,
        duration=pick(args.duration, 5.0, 2.0),
        profile=args.profile,
    )
    if min(opts.concurrency, opts.requests, opts.rounds) < 1 or opts.warmup < 0:
        raise SystemExit("--concurrency, --requests and --rounds must be positive")
    if opts.rate <= 0 or opts.duration <= 0:
        raise SystemExit("--rate and --duration must be positive")
    return opts


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve == "intake":
        return serve_intake()
    if args.serve == "minimal":
        return serve_minimal(args.port)
    opts = options(args)
    started = time.monotonic()
    try:
        return run_bench(opts)
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped", file=sys.stderr)
        return 130
    finally:
        print(f"\nbench took {time.monotonic() - started:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
