"""The S3 server holding samples stopped for 20 s in the middle of a day of captures: recording
holds its batch and waits, spending no delivery attempt, and nothing is lost."""

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from ots.simulate.tablet import SimulatedDevice
from services.recording.config import RecordingSettings
from services.recording.samples.store import open_store
from tests.integration.test_recording_fixtures import (
    Scene,
    eventually,
    gateway_drained,
    prepare,
    recording_config,
    running_scene,  # noqa: F401 (the scene, with this module's config)
)
from tests.support.s3 import SeaweedS3

OUTAGE_SECONDS = 20
PEOPLE = 8


@pytest.fixture
def s3(tmp_path: Path) -> Iterator[SeaweedS3]:
    server = SeaweedS3(tmp_path / "seaweedfs").start()
    yield server
    server.stop()


@pytest.fixture
def config(s3: SeaweedS3) -> RecordingSettings:
    env = s3.environment()
    return recording_config(
        samples_url=env["OTS_SAMPLES_URL"], samples_endpoint=env["OTS_SAMPLES_ENDPOINT"],
        samples_access_key_id=env["OTS_SAMPLES_ACCESS_KEY_ID"],
        samples_secret_access_key=env["OTS_SAMPLES_SECRET_ACCESS_KEY"], gateway_batch_size=16,
    )  # fmt: skip


def waiting_for_the_store() -> bool:
    return REGISTRY.get_sample_value("ots_recording_waiting_for_samples_store") == 1


async def stored(scene: Scene) -> int:
    return int(await scene.db.fetchval("SELECT count(*) FROM recording.captures"))


async def _stored_of(scene: Scene) -> int:
    return int(await scene.db.fetchval(
        "SELECT count(*) FROM recording.captures WHERE visit_id = $1", scene.visit_id))  # fmt: skip


async def test_a_20_second_s3_outage_during_the_day_loses_nothing_and_spends_no_attempt(
    scene: Scene, s3: SeaweedS3, config: RecordingSettings
) -> None:
    device = SimulatedDevice("gw-team07-05")
    visit_id, people = await prepare(scene.nc, scene.db, device, people=PEOPLE)
    scene = dataclasses.replace(scene, device=device, visit_id=visit_id, niks=people)
    await scene.send([m for nik in people[:2] for m in device.full_recording(visit_id, nik)])
    await eventually(lambda: gateway_drained(scene.nc))
    before_outage = await stored(scene)

    s3.stop()
    rest = [m for nik in people[2:] for m in device.full_recording(visit_id, nik)]
    await scene.send([*rest, device.visit_closed(visit_id)])
    await eventually(lambda: asyncio.sleep(0, waiting_for_the_store()), within=30)
    await asyncio.sleep(OUTAGE_SECONDS)
    assert waiting_for_the_store() and await stored(scene) == before_outage
    info = await scene.nc.jetstream().consumer_info("OTS_GATEWAY", "recording-gateway")
    assert info.num_redelivered == 0  # held in progress: no attempt spent
    s3.start()

    await eventually(lambda: gateway_drained(scene.nc), within=60)
    assert await _stored_of(scene) == 14 * PEOPLE and not waiting_for_the_store()
    samples = open_store(config.samples_location())
    assert all([await samples.exists(k) for k in await _named(scene)])
    completed = await scene.events("ots.recording.completed", expect=PEOPLE)
    assert Counter(c["data"]["nik"] for c in completed) == Counter(people)
    [visit] = await scene.events("ots.visit.completed", expect=1)
    assert visit["data"]["people_recorded"] == PEOPLE
    assert await scene.events("ots.recording.rejected", expect=1, within=0.5) == []
    assert await scene.events("ots.dlq.>", expect=1, within=0.5) == []


async def _named(scene: Scene) -> list[str]:
    rows = await scene.db.fetch("SELECT sample_key FROM recording.captures")
    assert all(r["sample_key"] for r in rows)
    return [r["sample_key"] for r in rows]
