"""The whole system for end-to-end tests: nats-server, PostgreSQL and the four services as
separate processes on free ports, each of which a test may kill and restart."""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ots.admin import migrate_all, provision_streams
from ots.registry import MODULES
from ots.supervisor import stop_children
from ots_runtime.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from ots_runtime.settings import Settings

SERVICES = tuple(MODULES)


@dataclass
class System:
    root: Path
    nats: EmbeddedNats
    postgres: EmbeddedPostgres
    ports: dict[str, int] = field(default_factory=lambda: {s: free_port() for s in SERVICES})
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return Settings.model_validate({
            "env": "test", "nats_url": self.nats.url, "database_url": self.postgres.url,
            "token_pepper": "e2e-pepper-not-secret", "data_dir": str(self.root / "data"),
            **{f"{name}_port": port for name, port in self.ports.items()},
        })  # fmt: skip

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTS_")}
        return env | {
            "OTS_ENV": "test", "OTS_NATS_URL": self.nats.url,
            "OTS_DATABASE_URL": self.postgres.url, "OTS_TOKEN_PEPPER": "e2e-pepper-not-secret",
            "OTS_LOG_LEVEL": "WARNING", "OTS_DISPATCH_DEBOUNCE_SECONDS": "0.5",
            "OTS_DATA_DIR": str(self.root / "data"),
            **{f"OTS_{name.upper()}_PORT": str(port) for name, port in self.ports.items()},
        }  # fmt: skip

    def start(self, name: str) -> None:
        log = (self.root / f"{name}.log").open("ab")
        self.children[name] = subprocess.Popen(
            [sys.executable, "-m", "ots.cli", "serve", name], env=self.env(),
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    async def ready(self, name: str, patience: float = 60.0) -> None:
        async with asyncio.timeout(patience), httpx.AsyncClient() as client:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    answer = await client.get(f"http://127.0.0.1:{self.ports[name]}/readyz")
                    if answer.status_code == 200:
                        return
                await asyncio.sleep(0.2)

    async def kill_and_restart(self, name: str) -> None:
        child = self.children[name]
        child.send_signal(signal.SIGKILL)
        await asyncio.to_thread(child.wait)
        self.start(name)
        await self.ready(name)

    async def restart_nats(self) -> None:
        await asyncio.to_thread(self.nats.stop)
        await asyncio.to_thread(self.nats.start)

    async def restart_postgres(self) -> None:
        await asyncio.to_thread(self.postgres.stop)
        await asyncio.to_thread(self.postgres.start, fsync=False)

    def stop(self) -> None:
        stop_children(self.children)
        self.postgres.stop()
        self.nats.stop()


@contextlib.asynccontextmanager
async def running_system() -> AsyncIterator[System]:
    """Under a directory of its own: pytest's tmp_path parent is reset to 0700 whenever another
    pytest starts, which locks the unprivileged PostgreSQL user out mid-test when run as root."""
    with tempfile.TemporaryDirectory(prefix="ots-e2e-") as directory:
        root = Path(directory)
        os.chmod(root, 0o755)
        async with _running(root) as system:
            yield system


@contextlib.asynccontextmanager
async def _running(root: Path) -> AsyncIterator[System]:
    nats = await asyncio.to_thread(EmbeddedNats(root / "nats").start)
    postgres = await asyncio.to_thread(EmbeddedPostgres(root / "pg" / "data").start, fsync=False)
    system = System(root, nats, postgres)
    try:
        await provision_streams(system.settings)
        await migrate_all(system.settings)
        for name in SERVICES:
            system.start(name)
        for name in SERVICES:
            await system.ready(name)
        yield system
    finally:
        await asyncio.to_thread(system.stop)
