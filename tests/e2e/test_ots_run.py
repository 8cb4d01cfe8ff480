"""`ots run` on a fresh data directory: the whole system, restarted children, kept data."""

import asyncio
import contextlib
import os
import re
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil  # type: ignore[import-untyped]
import pytest

from ots_runtime.broker import connect
from ots_runtime.embedded import free_port
from tests.support.events import published
from tests.support.requests import a_home_visit

SERVICES = ("intake", "dispatch", "recording", "metrics")


@dataclass
class Running:
    process: asyncio.subprocess.Process
    token: str
    ports: dict[str, int]

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def child(self, service: str) -> psutil.Process:
        children = psutil.Process(self.process.pid).children()
        return next(c for c in children if c.cmdline()[-2:] == ["serve", service])


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Not tmp_path: another pytest run resets its parent to 0700, which would lock the
    # unprivileged PostgreSQL user out of its data directory mid-test.
    with tempfile.TemporaryDirectory(prefix="ots-run-") as directory:
        os.chmod(directory, 0o755)
        yield Path(directory)


@pytest.fixture
def ports() -> dict[str, int]:
    return {name: free_port() for name in (*SERVICES, "nats", "pg")}


@contextlib.contextmanager
def ctrl_c_as_a_terminal_delivers_it() -> Iterator[None]:
    """A shell at a terminal starts `ots run` with SIGINT at its default. A suite started in the
    background by a shell without job control ignores SIGINT, and a child would inherit that;
    a handler in this process is reset to the default in the child instead."""
    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.asynccontextmanager
async def ots_run(data_dir: Path, ports: dict[str, int]) -> AsyncIterator[Running]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTS_")} | {
        "OTS_DATA_DIR": str(data_dir / ".ots"),
        **{f"OTS_{name.upper()}_PORT": str(ports[name]) for name in SERVICES},
        "OTS_EMBEDDED_NATS_PORT": str(ports["nats"]),
        "OTS_EMBEDDED_POSTGRES_PORT": str(ports["pg"]),
    }
    with ctrl_c_as_a_terminal_delivers_it():
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ots.cli", "run", env=env, stdout=asyncio.subprocess.PIPE
        )
    assert proc.stdout
    banner = ""
    async with asyncio.timeout(90):
        while "demo operator token" not in banner:
            line = (await proc.stdout.readline()).decode()
            assert line, "ots run ended before printing a token"
            banner += line
    found = re.search(r"demo operator token: (\S+)", banner)
    assert found
    try:
        yield Running(proc, found.group(1), ports)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            exit_code = await asyncio.wait_for(proc.wait(), 60)
        except TimeoutError:
            for process in [*psutil.Process(proc.pid).children(recursive=True), proc]:
                with contextlib.suppress(psutil.NoSuchProcess, ProcessLookupError):
                    process.kill()
            raise AssertionError("ots run did not stop within 60 s of SIGINT") from None
        assert exit_code == 0


async def test_ots_run_serves_every_service_and_publishes_a_created_visit(
    data_dir: Path, ports: dict[str, int]
) -> None:
    async with ots_run(data_dir, ports) as running, httpx.AsyncClient() as client:
        created = await client.post(
            f"{running.url('intake')}/v1/visits",
            json=a_home_visit(),
            headers={"Authorization": f"Bearer {running.token}"},
        )
        assert created.status_code == 201
        for service in SERVICES:
            ready = await client.get(f"{running.url(service)}/readyz")
            assert ready.json()["ready"] is True, service
        nc = await connect(f"nats://127.0.0.1:{ports['nats']}", name="e2e")
        try:
            [event] = await published(nc, "ots.visit.requested", expect=1)
        finally:
            await nc.close()
    assert event["data"]["visit_id"] == created.json()["visit_id"]


async def test_ots_run_prints_a_token_that_opens_every_services_api(
    data_dir: Path, ports: dict[str, int]
) -> None:
    reads = {
        "recording": "/v1/visits/v-unknown/enrollments",
        "dispatch": "/v1/plans?date=2026-12-07",
        "metrics": "/v1/reports/services",
        "intake": "/v1/visits",
    }
    async with ots_run(data_dir, ports) as running, httpx.AsyncClient() as client:
        bearer = {"Authorization": f"Bearer {running.token}"}
        refused = {
            name: (
                await client.get(running.url(name) + path, headers={"Authorization": "Bearer x"})
            )
            for name, path in reads.items()
        }
        opened = {
            name: await client.get(running.url(name) + path, headers=bearer)
            for name, path in reads.items()
        }
    assert {name: r.status_code for name, r in refused.items()} == dict.fromkeys(reads, 401)
    # past the token everywhere: recording has no such visit
    assert {name: r.status_code for name, r in opened.items()} == {
        "recording": 404, "dispatch": 200, "metrics": 200, "intake": 200,
    }  # fmt: skip


async def answers(client: httpx.AsyncClient, url: str) -> None:
    async with asyncio.timeout(60):
        while True:
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.2)


async def test_a_killed_service_is_restarted_and_a_second_run_keeps_the_data(
    data_dir: Path, ports: dict[str, int]
) -> None:
    async with ots_run(data_dir, ports) as running, httpx.AsyncClient() as client:
        headers = {"Authorization": f"Bearer {running.token}"}
        intake = running.url("intake")
        created = await client.post(f"{intake}/v1/visits", json=a_home_visit(), headers=headers)
        visit = f"{intake}/v1/visits/{created.json()['visit_id']}"
        killed = running.child("intake")
        killed.send_signal(signal.SIGKILL)
        await answers(client, f"{intake}/healthz")
        assert running.child("intake").pid != killed.pid
        assert (await client.get(visit, headers=headers)).status_code == 200
    async with ots_run(data_dir, ports), httpx.AsyncClient() as client:
        again = await client.get(visit, headers=headers)
    assert again.json()["visit_id"] == created.json()["visit_id"]
