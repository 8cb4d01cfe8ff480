"""The store holding samples gone for 20 s in the middle of a day of captures, on the folder store
(its volume away: every read and write fails) and on a real S3 server (stopped): recording holds
its batch and waits, spending no delivery attempt, and nothing is lost or stored twice."""

import asyncio
import dataclasses
import hashlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
from prometheus_client import REGISTRY

from ots.simulate.tablet import SimulatedDevice
from services.recording.config import RecordingSettings
from services.recording.samples.keys import unsealed_parts
from services.recording.samples.store import SampleStore, open_store
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


class Stoppable(Protocol):
    def stop(self) -> None: ...
    def start(self) -> object: ...


@dataclasses.dataclass(frozen=True)
class FolderVolume:
    """The folder store's volume going away and coming back. The folder is moved aside and a
    regular file takes its place, so every path under it fails (ENOTDIR), for root too, whom
    permission bits would not stop. With nothing in its place the store would not fail: it
    creates the folder afresh, as it would on a mount point whose volume is gone."""

    folder: Path

    def stop(self) -> None:
        self.folder.rename(self._aside)
        self.folder.touch()

    def start(self) -> None:
        self.folder.unlink()
        self._aside.rename(self.folder)

    @property
    def _aside(self) -> Path:
        return self.folder.with_name(f"{self.folder.name}.away")


@dataclasses.dataclass(frozen=True)
class Store:
    config: RecordingSettings
    server: Stoppable


@pytest.fixture(params=["folder", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "folder":
        folder = tmp_path / "samples"
        yield Store(recording_config(samples_url=f"file://{folder}", gateway_batch_size=16),
                    FolderVolume(folder))  # fmt: skip
        return
    server = SeaweedS3(tmp_path / "seaweedfs").start()
    env = server.environment()
    yield Store(recording_config(
        samples_url=env["OTS_SAMPLES_URL"], samples_endpoint=env["OTS_SAMPLES_ENDPOINT"],
        samples_access_key_id=env["OTS_SAMPLES_ACCESS_KEY_ID"],
        samples_secret_access_key=env["OTS_SAMPLES_SECRET_ACCESS_KEY"], gateway_batch_size=16,
    ), server)  # fmt: skip
    server.stop()


@pytest.fixture
def config(store: Store) -> RecordingSettings:
    return store.config


def waiting_for_the_store() -> bool:
    return REGISTRY.get_sample_value("ots_recording_waiting_for_samples_store") == 1


async def stored(scene: Scene) -> int:
    return int(await scene.db.fetchval("SELECT count(*) FROM recording.captures"))


async def deliveries(scene: Scene) -> int:
    """Every delivery of the work queue so far, first ones and redeliveries alike."""
    info = await scene.nc.jetstream().consumer_info("OTS_GATEWAY", "recording-gateway")
    return int(info.delivered.consumer_seq or 0)


async def test_a_20_second_store_outage_during_the_day_loses_nothing_and_spends_no_attempt(
    scene: Scene, store: Store, config: RecordingSettings
) -> None:
    device = SimulatedDevice("gw-team07-05")
    visit_id, people = await prepare(scene.nc, scene.db, device, people=PEOPLE)
    scene = dataclasses.replace(scene, device=device, visit_id=visit_id, niks=people)
    first = [m for nik in people[:2] for m in device.full_recording(visit_id, nik)]
    await scene.send(first)
    await eventually(lambda: gateway_drained(scene.nc))
    before_outage, delivered_before = await stored(scene), await deliveries(scene)

    store.server.stop()
    rest = [m for nik in people[2:] for m in device.full_recording(visit_id, nik)]
    await scene.send([*rest, device.visit_closed(visit_id)])
    await eventually(lambda: asyncio.sleep(0, waiting_for_the_store()), within=30)
    await asyncio.sleep(OUTAGE_SECONDS)
    assert waiting_for_the_store() and await stored(scene) == before_outage
    info = await scene.nc.jetstream().consumer_info("OTS_GATEWAY", "recording-gateway")
    assert info.num_redelivered == 0  # held in progress: no attempt spent
    store.server.start()

    await eventually(lambda: gateway_drained(scene.nc), within=60)
    assert not waiting_for_the_store()
    assert await deliveries(scene) == delivered_before + len(rest) + 1  # each delivered once
    samples = open_store(config.samples_location())
    sent = {m.data["capture_id"]: m.data["sha256"] for m in [*first, *rest]}
    assert await opened(scene, samples, config) == sent  # each once, its object there and whole
    await eventually(lambda: only_named_objects(scene, samples))  # no second copy left behind
    completed = await scene.events("ots.recording.completed", expect=PEOPLE)
    assert Counter(c["data"]["nik"] for c in completed) == Counter(people)
    [visit] = await scene.events("ots.visit.completed", expect=1)
    assert visit["data"]["people_recorded"] == PEOPLE
    assert await scene.events("ots.recording.rejected", expect=1, within=0.5) == []
    assert await scene.events("ots.dlq.>", expect=1, within=0.5) == []


async def opened(scene: Scene, samples: SampleStore, config: RecordingSettings) -> dict[str, str]:
    """Capture id → the SHA-256 of its sample, read back from the store and unsealed."""
    rows = await scene.db.fetch(
        "SELECT capture_id, sample_key, key_id FROM recording.captures WHERE visit_id = $1",
        scene.visit_id,
    )
    keyring, found = config.keyring(), {}
    for row in rows:
        blob = await samples.get(row["sample_key"])
        sample = keyring.open(unsealed_parts(row["key_id"], blob), bound_to=row["capture_id"])
        found[row["capture_id"]] = hashlib.sha256(sample).hexdigest()
    return found


async def only_named_objects(scene: Scene, samples: SampleStore) -> bool:
    named = await scene.db.fetch(
        "SELECT sample_key FROM recording.captures WHERE visit_id = $1", scene.visit_id
    )
    listed = [o.key for page in [p async for p in samples.listing(scene.visit_id)] for o in page]
    return sorted(listed) == sorted(r["sample_key"] for r in named)
