"""`ots run` on a fresh data directory: a curl-style request becomes a CloudEvent."""

import asyncio
import os
import re
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ots_runtime.broker import connect
from ots_runtime.embedded import free_port
from tests.support.events import published
from tests.support.requests import a_home_visit


@pytest.fixture
async def ots_run() -> AsyncIterator[tuple[str, int, int]]:
    # Not tmp_path: another pytest run resets its parent to 0700, which would lock the
    # unprivileged PostgreSQL user out of its data directory mid-test.
    with tempfile.TemporaryDirectory(prefix="ots-run-") as directory:
        tmp_path = Path(directory)
        os.chmod(tmp_path, 0o755)
        async for running in _ots_run(tmp_path):
            yield running


async def _ots_run(tmp_path: Path) -> AsyncIterator[tuple[str, int, int]]:
    ports = {
        name: free_port() for name in ("intake", "dispatch", "recording", "metrics", "nats", "pg")
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTS_")} | {
        "OTS_DATA_DIR": str(tmp_path / ".ots"),
        **{
            f"OTS_{name.upper()}_PORT": str(ports[name])
            for name in ("intake", "dispatch", "recording", "metrics")
        },
        "OTS_EMBEDDED_NATS_PORT": str(ports["nats"]),
        "OTS_EMBEDDED_POSTGRES_PORT": str(ports["pg"]),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ots.cli", "run", env=env,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout
    token = ""
    async with asyncio.timeout(90):
        while not token:
            line = (await proc.stdout.readline()).decode()
            assert line, "ots run ended before printing a token"
            if found := re.search(r"demo operator token: (\S+)", line):
                token = found.group(1)
    try:
        yield token, ports["intake"], ports["nats"]
    finally:
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 60) == 0


async def test_ots_run_serves_intake_and_publishes_a_created_visit(
    ots_run: tuple[str, int, int],
) -> None:
    token, intake_port, nats_port = ots_run
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{intake_port}") as client:
        created = await client.post(
            "/v1/visits", json=a_home_visit(), headers={"Authorization": f"Bearer {token}"}
        )
        assert created.status_code == 201
        assert (await client.get("/readyz")).json()["ready"] is True
    nc = await connect(f"nats://127.0.0.1:{nats_port}", name="e2e")
    try:
        [event] = await published(nc, "ots.visit.requested", expect=1)
    finally:
        await nc.close()
    assert event["data"]["visit_id"] == created.json()["visit_id"]
