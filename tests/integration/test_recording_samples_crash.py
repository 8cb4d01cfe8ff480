"""`kill -9` of recording between writing a batch's samples and committing the rows that name
them, again and again, on the folder store and on a real S3 server: no row ever names a missing
object, nothing is lost or stored twice, and the sweeper removes what the kills left unnamed."""

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from nats.aio.client import Client

from ots.simulate.tablet import SimulatedDevice
from ots_runtime.settings import Settings
from services.recording.samples.store import Location, SampleStore, open_store
from tests.integration.test_recording_fixtures import (
    a_visit_recorded_in_full,
    eventually,
    gateway_drained,
)
from tests.support.events import published
from tests.support.recording_process import Process, redeliver_soon_after_a_kill
from tests.support.s3 import SeaweedS3
from tests.support.tokens import ENV

PEOPLE = 16
CAPTURES = PEOPLE * 14
KILLS = 8
GRACE = 6.0  # the sweeper's; a batch commits within half of it or starts again


@dataclasses.dataclass
class Store:
    env: dict[str, str]
    samples: SampleStore


@pytest.fixture(params=["folder", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "folder":
        url = f"file://{tmp_path / 'samples'}"
        yield Store({"OTS_SAMPLES_URL": url}, open_store(Location(url)))
        return
    server = SeaweedS3(tmp_path / "seaweedfs").start()
    env = server.environment()
    location = Location(env["OTS_SAMPLES_URL"], env["OTS_SAMPLES_ENDPOINT"],
                        env["OTS_SAMPLES_ACCESS_KEY_ID"], env["OTS_SAMPLES_SECRET_ACCESS_KEY"])  # fmt: skip
    yield Store(env, open_store(location))
    server.stop()


@pytest.fixture
def service(settings: Settings, tmp_path: Path, store: Store) -> Iterator[Process]:
    process = Process(
        settings, tmp_path / "recording.log", **ENV, **store.env,
        OTS_SAMPLES_SWEEP_GRACE_SECONDS=str(GRACE), OTS_SAMPLES_SWEEP_EVERY_SECONDS="0.5",
    )  # fmt: skip
    yield process
    process.kill()


async def named_keys(db: asyncpg.Pool) -> set[str]:
    rows = await db.fetch("SELECT sample_key FROM recording.captures WHERE sample_key IS NOT NULL")
    return {r["sample_key"] for r in rows}


async def stored_keys(samples: SampleStore) -> set[str]:
    return {o.key for page in [p async for p in samples.listing()] for o in page if "/" in o.key}


async def test_kills_between_writing_samples_and_committing_lose_nothing_and_name_nothing_missing(
    service: Process, store: Store, nc: Client, db: asyncpg.Pool
) -> None:
    await redeliver_soon_after_a_kill(nc.jetstream())
    service.start()
    _, niks = await a_visit_recorded_in_full(nc, db, SimulatedDevice("gw-team07-11"), people=PEOPLE)

    between = 0
    for _ in range(KILLS):
        if await _kill_once_samples_are_unnamed(service, store.samples, db):
            between += 1
        named, present = await named_keys(db), await stored_keys(store.samples)
        assert named <= present, "a committed row names an object that is not there"
        service.start()
    await eventually(lambda: gateway_drained(nc), within=90)

    assert between > 0, "no kill landed between the samples' write and the commit"
    assert await db.fetchval("SELECT count(*) FROM recording.captures") == CAPTURES
    named = await named_keys(db)
    assert len(named) == CAPTURES  # one best sample per slot: every capture kept its own

    async def only_named_objects_left() -> bool:
        return await stored_keys(store.samples) == named

    await eventually(only_named_objects_left, within=4 * GRACE)
    completed = await published(nc, "ots.recording.completed", expect=PEOPLE)
    assert Counter(c["data"]["nik"] for c in completed) == Counter(niks)
    assert await published(nc, "ots.recording.rejected", expect=1, within=0.5) == []
    assert await published(nc, "ots.dlq.>", expect=1, within=0.5) == []


async def _kill_once_samples_are_unnamed(
    service: Process, samples: SampleStore, db: asyncpg.Pool, within: float = 20.0
) -> bool:
    """Kill as soon as an object no row names is seen (a batch between its write and its
    commit), or after `within` seconds; whether the kill left such objects behind."""
    deadline = asyncio.get_running_loop().time() + within
    before = await named_keys(db)
    while asyncio.get_running_loop().time() < deadline:
        present, named = await stored_keys(samples), await named_keys(db)
        if present - named - before and named == await named_keys(db):
            break
        await asyncio.sleep(0.01)
    service.kill()
    return bool(await stored_keys(samples) - await named_keys(db))
