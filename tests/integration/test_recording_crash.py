"""`kill -9` of the recording process in the middle of its batches loses and duplicates nothing."""

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from nats.aio.client import Client

from ots.simulate.tablet import SimulatedDevice
from ots_runtime.settings import Settings
from tests.integration.test_recording_fixtures import (
    a_visit_recorded_in_full,
    eventually,
    gateway_drained,
)
from tests.support.events import published
from tests.support.recording_process import Process, redeliver_soon_after_a_kill

PEOPLE = 20
CAPTURES = PEOPLE * 14


@pytest.fixture
def service(settings: Settings, tmp_path: Path) -> Iterator[Process]:
    process = Process(settings, tmp_path / "recording.log")
    yield process
    process.kill()


async def stored(db: asyncpg.Pool) -> int:
    return int(await db.fetchval("SELECT count(*) FROM recording.captures"))


async def test_a_kill_in_the_middle_of_a_batch_loses_and_duplicates_nothing(
    service: Process, nc: Client, db: asyncpg.Pool
) -> None:
    await redeliver_soon_after_a_kill(nc.jetstream())
    service.start()
    _, niks = await a_visit_recorded_in_full(nc, db, SimulatedDevice("gw-team07-09"), people=PEOPLE)

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
