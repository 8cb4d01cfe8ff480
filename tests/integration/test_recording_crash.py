"""`kill -9` of the recording process in the middle of its batches loses and duplicates nothing."""

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from nats.aio.client import Client

from ots.simulate.tablet import SimulatedDevice, publish
from ots_runtime.broker import ensure_consumer
from ots_runtime.embedded import free_port
from ots_runtime.settings import Settings
from services.recording.gateway.consumer import CONSUMER
from tests.integration.test_recording_fixtures import (
    eventually,
    gateway_drained,
    prepare,
)
from tests.support import tokens as test_keys
from tests.support.events import published

PEOPLE = 20
CAPTURES = PEOPLE * 14


@pytest.fixture
def service(settings: Settings, tmp_path: Path) -> Iterator["Process"]:
    process = Process(settings, tmp_path / "recording.log")
    yield process
    process.kill()


class Process:
    def __init__(self, settings: Settings, log: Path, **env: str) -> None:
        self.log = log
        self.env = {**os.environ, "OTS_ENV": "test", "OTS_NATS_URL": str(settings.nats_url),
                    "OTS_DATABASE_URL": str(settings.database_url),
                    "OTS_RECORDING_PORT": str(free_port()), "OTS_GATEWAY_BATCH_SIZE": "16",
                    **test_keys.ENV, "OTS_LOG_LEVEL": "DEBUG",
                    "OTS_TOKEN_PEPPER": "test-pepper-not-secret",
                    "OTS_SAMPLES_URL": f"file://{log.parent / 'samples'}", **env}  # fmt: skip
        self.child: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.child = subprocess.Popen(
                [sys.executable, "-m", "ots.cli", "serve", "recording"], env=self.env,
                stdout=log, stderr=log,
            )  # fmt: skip

    def kill(self) -> None:
        if self.child and self.child.poll() is None:
            os.kill(self.child.pid, signal.SIGKILL)
            self.child.wait()


async def stored(db: asyncpg.Pool) -> int:
    return int(await db.fetchval("SELECT count(*) FROM recording.captures"))


async def test_a_kill_in_the_middle_of_a_batch_loses_and_duplicates_nothing(
    service: Process, nc: Client, db: asyncpg.Pool
) -> None:
    # Redelivery of the batch the kill interrupted comes after ack_wait: keep it short here.
    await ensure_consumer(nc.jetstream(), dataclasses.replace(CONSUMER, ack_wait_seconds=2))
    service.start()
    device = SimulatedDevice("gw-team07-09")
    visit_id, niks = await prepare(nc, db, device, people=PEOPLE)
    messages = [m for nik in niks for m in device.full_recording(visit_id, nik)]
    await publish(nc.jetstream(), [*messages, device.visit_closed(visit_id)])

    await eventually(lambda: _between(db, 1, CAPTURES - 1), within=30)
    service.kill()
    killed_at = await stored(db)
    service.start()
    await eventually(lambda: gateway_drained(nc), within=60)

    assert killed_at < CAPTURES
    assert await stored(db) == CAPTURES
    completed = await published(nc, "ots.recording.completed", expect=PEOPLE)
    assert Counter(c["data"]["nik"] for c in completed) == Counter(niks)
    [visit] = await published(nc, "ots.visit.completed", expect=1)
    assert visit["data"]["people_recorded"] == PEOPLE
    assert await published(nc, "ots.recording.rejected", expect=1, within=0.5) == []
    assert await published(nc, "ots.dlq.>", expect=1, within=0.5) == []
    log = service.log.read_text()
    assert "runtime started" in log and not any(nik in log for nik in niks)


async def _between(db: asyncpg.Pool, low: int, high: int) -> bool:
    await asyncio.sleep(0.005)
    return low <= await stored(db) <= high
