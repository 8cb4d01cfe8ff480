"""The whole system for end-to-end tests: nats-server (one, or a three-node JetStream cluster),
PostgreSQL and the four services as separate processes on free ports (one or more replicas of
each), any of which a test may kill and restart."""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx

from contracts.jember import WIB
from ots.admin import migrate_all, provision_streams
from ots.registry import MODULES
from ots.simulate.day import settled_figures, url
from ots.simulate.expected import Figures
from ots.simulate.http import Service
from ots.supervisor import stop_children
from ots_runtime.auth import Role
from ots_runtime.broker import connect
from ots_runtime.embedded import EmbeddedNats, EmbeddedPostgres, NatsCluster, free_port
from ots_runtime.settings import Settings
from tests.support import tokens as test_keys
from tests.support.intake import ENV as INTAKE_ENV

SERVICES = tuple(MODULES)
CLUSTER_SIZE = 3
KEEP = "E2E_KEEP"


def instance(name: str, replica: int = 0) -> str:
    """A replica's name for its process and its log: `intake` for the first, `intake-1`, ..."""
    return name if replica == 0 else f"{name}-{replica}"


@dataclass
class System:
    root: Path
    nats: EmbeddedNats | NatsCluster
    postgres: EmbeddedPostgres
    replicas: int = 1
    log_level: str = "WARNING"
    replica_ports: dict[str, list[int]] = field(default_factory=dict)
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in SERVICES:
            self.replica_ports.setdefault(name, [free_port() for _ in range(self.replicas)])

    @property
    def ports(self) -> dict[str, int]:
        """The first replica's port of each service: the one the simulator and checks talk to."""
        return {name: ports[0] for name, ports in self.replica_ports.items()}

    @property
    def cluster(self) -> NatsCluster:
        assert isinstance(self.nats, NatsCluster), "running_system(cluster=True) has a cluster"
        return self.nats

    @property
    def settings(self) -> Settings:
        return Settings.model_validate({
            "env": "test", "nats_url": self.nats.url, "database_url": self.postgres.url,
            "data_dir": str(self.root / "data"),
            **test_keys.SETTINGS,
            **{f"{name}_port": port for name, port in self.ports.items()},
        })  # fmt: skip

    def env(self, name: str | None = None, replica: int = 0) -> dict[str, str]:
        """Every service's first port, but `name`'s own replica listens on its own."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTS_")}
        ports = self.ports | ({name: self.replica_ports[name][replica]} if name else {})
        return env | {
            "OTS_ENV": "test", "OTS_NATS_URL": self.nats.url,
            "OTS_DATABASE_URL": self.postgres.url,
            "OTS_LOG_LEVEL": self.log_level, "OTS_DISPATCH_DEBOUNCE_SECONDS": "0.5",
            "OTS_DATA_DIR": str(self.root / "data"), **test_keys.ENV,
            **(INTAKE_ENV if name == "intake" else {}),  # the console's session key
            **{f"OTS_{service.upper()}_PORT": str(port) for service, port in ports.items()},
        }  # fmt: skip

    def start(self, name: str, replica: int = 0) -> None:
        log = (self.root / f"{instance(name, replica)}.log").open("ab")
        self.children[instance(name, replica)] = subprocess.Popen(
            [sys.executable, "-m", "ots.cli", "serve", name], env=self.env(name, replica),
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def start_all(self) -> None:
        for replica in range(self.replicas):
            for name in SERVICES:
                self.start(name, replica)

    async def ready(self, name: str, replica: int = 0, patience: float = 60.0) -> None:
        port, answer = self.replica_ports[name][replica], "nothing"
        try:
            async with asyncio.timeout(patience), httpx.AsyncClient() as client:
                while True:
                    with contextlib.suppress(httpx.TransportError):
                        reply = await client.get(f"http://127.0.0.1:{port}/readyz")
                        if reply.status_code == 200:
                            return
                        answer = f"{reply.status_code} {reply.text[:300]}"
                    await asyncio.sleep(0.2)
        except TimeoutError:
            log = self.root / f"{instance(name, replica)}.log"
            raise TimeoutError(
                f"{instance(name, replica)} not ready after {patience}s (last answer: {answer}); "
                f"its log ends: {_tail(log)}"
            ) from None

    async def all_ready(self) -> None:
        for replica in range(self.replicas):
            for name in SERVICES:
                await self.ready(name, replica)

    async def kill(self, name: str, replica: int = 0) -> None:
        child = self.children[instance(name, replica)]
        child.send_signal(signal.SIGKILL)
        await asyncio.to_thread(child.wait)

    async def kill_and_restart(self, name: str, replica: int = 0) -> None:
        await self.kill(name, replica)
        self.start(name, replica)
        await self.ready(name, replica)

    async def restart_nats(self) -> None:
        await asyncio.to_thread(self.nats.stop)
        await asyncio.to_thread(self.nats.start)

    async def kill_nats_node(self, index: int) -> None:
        await asyncio.to_thread(self.cluster.kill, index)

    async def restart_nats_node(self, index: int) -> None:
        await asyncio.to_thread(self.cluster.restart, index)

    async def nats_leader(self, stream: str) -> int:
        """The index of the cluster node that leads `stream` now."""
        return await self.cluster.stream_leader(stream)

    async def restart_postgres(self) -> None:
        await asyncio.to_thread(self.postgres.stop)
        await asyncio.to_thread(self.postgres.start, fsync=False)

    def stop(self) -> None:
        stop_children(self.children)
        self.postgres.stop()
        self.nats.stop()


def _tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


async def figures_now(system: System, wanted: Figures, patience: float = 60.0) -> Figures:
    """What metrics report from scratch, once everything has settled after the last restart."""
    assert system.settings.nats_url
    nc = await connect(system.settings.nats_url, name="e2e-check")
    metrics = Service(url(system.settings, "metrics"), test_keys.signed_token(Role.VIEWER))
    try:
        year = datetime.now(WIB).year
        return await settled_figures(metrics, nc.jetstream(), year, Figures(), wanted, patience)
    finally:
        await metrics.aclose()
        await nc.close()


@contextlib.asynccontextmanager
async def running_system(
    *, replicas: int = 1, cluster: bool = False, log_level: str = "WARNING"
) -> AsyncIterator[System]:
    """`replicas` processes of each service on the same durable consumers; with `cluster`, a
    three-node JetStream cluster whose streams keep three replicas.

    Under a directory of its own: pytest's tmp_path parent is reset to 0700 whenever another
    pytest starts, which locks the unprivileged PostgreSQL user out mid-test when run as root."""
    with _directory() as root:
        try:
            async with _running(root, replicas, cluster, log_level) as system:
                yield system
        except BaseException:  # a failure or a pytest-timeout: what each service last said
            for log in sorted(root.glob("*.log")):
                print(f"\n--- {log.name} ---\n{_tail(log, 60)}", file=sys.stderr)
            raise


@contextlib.contextmanager
def _directory() -> Iterator[Path]:
    """Removed afterwards, unless E2E_KEEP is set: then kept, with the services' logs, and
    named on stderr."""
    if os.environ.get(KEEP):
        root = Path(tempfile.mkdtemp(prefix="ots-e2e-"))
        print(f"\n{KEEP}: the system's directory is {root}", file=sys.stderr)
        os.chmod(root, 0o755)
        yield root
        return
    with tempfile.TemporaryDirectory(prefix="ots-e2e-") as directory:
        os.chmod(directory, 0o755)
        yield Path(directory)


# Systems not yet stopped. A pytest-timeout fires inside the event loop's select: the test's
# async cleanup then waits for the session's loop to close, and the system would run on through
# the rest of the suite; `stop_systems_left_running` stops it at once.
LEFT_RUNNING: list[System] = []


def stop_systems_left_running() -> None:
    while LEFT_RUNNING:
        with contextlib.suppress(Exception):
            LEFT_RUNNING.pop().stop()


@contextlib.asynccontextmanager
async def _running(
    root: Path, replicas: int, cluster: bool, log_level: str = "WARNING"
) -> AsyncIterator[System]:
    nats: EmbeddedNats | NatsCluster = (
        NatsCluster(root / "nats", size=CLUSTER_SIZE) if cluster else EmbeddedNats(root / "nats")
    )
    postgres = EmbeddedPostgres(root / "pg" / "data")
    system = System(root, nats, postgres, replicas, log_level)
    LEFT_RUNNING.append(system)
    try:
        await asyncio.to_thread(nats.start)
        await asyncio.to_thread(postgres.start, fsync=False)
        await provision_streams(system.settings, replicas=CLUSTER_SIZE if cluster else 1)
        await migrate_all(system.settings)
        system.start_all()
        await system.all_ready()
        yield system
    finally:
        if system in LEFT_RUNNING:
            LEFT_RUNNING.remove(system)
        await asyncio.to_thread(system.stop)
