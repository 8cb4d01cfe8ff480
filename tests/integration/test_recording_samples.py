"""Sealed samples live in object storage, a folder here and a real S3 server (SeaweedFS) below:
PostgreSQL keeps each capture's key, hash, key id and size; a replaced sample's object goes;
objects no row names are swept after the grace; production refuses to start without a store."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from contracts.enums import Modality
from services.recording.config import RecordingSettings
from services.recording.samples.keys import sample_key, unsealed_parts, visit_of
from services.recording.samples.store import SampleStore, open_store
from services.recording.samples.sweeper import sweep_once
from tests.integration.test_recording_fixtures import (
    Scene,
    eventually,
    gateway_drained,
    recording_config,
    running_scene,  # noqa: F401 (the scene, with this module's config)
)
from tests.support.s3 import SeaweedS3
from tests.support.tokens import BIOMETRIC_ACTIVE_KEY, BIOMETRIC_KEYS

IRIS = Modality.IRIS


@pytest.fixture(params=["folder", "s3"])
def config(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordingSettings]:
    if request.param == "folder":
        yield recording_config(samples_url=f"file://{tmp_path / 'samples'}")
        return
    server = SeaweedS3(tmp_path / "seaweedfs").start()
    env = server.environment()
    yield recording_config(
        samples_url=env["OTS_SAMPLES_URL"], samples_endpoint=env["OTS_SAMPLES_ENDPOINT"],
        samples_access_key_id=env["OTS_SAMPLES_ACCESS_KEY_ID"],
        samples_secret_access_key=env["OTS_SAMPLES_SECRET_ACCESS_KEY"],
    )  # fmt: skip
    server.stop()


@pytest.fixture
def samples(config: RecordingSettings) -> SampleStore:
    return open_store(config.samples_location())


async def objects(samples: SampleStore, prefix: str | None = None) -> set[str]:
    return {o.key for page in [p async for p in samples.listing(prefix)] for o in page}


async def test_a_capture_row_names_its_sealed_object_by_content_under_its_visit(
    scene: Scene, samples: SampleStore
) -> None:
    capture = scene.device.capture(scene.visit_id, scene.niks[0], IRIS, "left", quality=90)
    await scene.send([capture])
    await eventually(lambda: gateway_drained(scene.nc))

    row = await scene.db.fetchrow(
        "SELECT sample_key, sample_bytes, key_id, sha256, sample FROM recording.captures"
    )
    blob = await samples.get(row["sample_key"])
    assert row["sample_key"] == sample_key(scene.visit_id, blob)
    assert row["sample_key"].startswith(f"{scene.visit_id}/")
    assert row["sample_bytes"] == len(blob) and row["key_id"] == BIOMETRIC_ACTIVE_KEY
    assert row["sha256"] == capture.data["sha256"] and row["sample"] is None


async def test_a_replaced_sample_leaves_the_store_and_the_better_one_stays(
    scene: Scene, samples: SampleStore
) -> None:
    nik, visit = scene.niks[0], scene.visit_id
    await scene.send([scene.device.capture(visit, nik, IRIS, "right", quality=50)])
    await eventually(lambda: gateway_drained(scene.nc))
    [worse] = await objects(samples, visit)
    await scene.send([scene.device.capture(visit, nik, IRIS, "right", quality=88)])
    await eventually(lambda: gateway_drained(scene.nc))

    kept = await scene.db.fetchval(
        "SELECT sample_key FROM recording.captures WHERE quality = 88 AND sample_key IS NOT NULL"
    )
    assert await scene.db.fetchval(
        "SELECT sample_key FROM recording.captures WHERE quality = 50"
    ) is None  # fmt: skip

    async def only_the_better_one_left() -> bool:
        return await objects(samples, visit) == {kept}

    await eventually(only_the_better_one_left)
    assert worse != kept


async def test_the_sweeper_removes_only_objects_no_row_names_once_past_the_grace(
    scene: Scene, samples: SampleStore
) -> None:
    await scene.send([scene.device.capture(scene.visit_id, scene.niks[1], IRIS, "left")])
    await eventually(lambda: gateway_drained(scene.nc))
    named = await scene.db.fetchval("SELECT sample_key FROM recording.captures")
    orphan = sample_key(scene.visit_id, b"sealed bytes whose transaction never committed")
    await samples.put_all({orphan: b"sealed bytes whose transaction never committed"})

    assert await sweep_once(scene.db, samples, grace=timedelta(hours=1)) == 0
    assert await objects(samples, scene.visit_id) == {named, orphan}
    assert await sweep_once(scene.db, samples, grace=timedelta(0)) == 1
    assert await objects(samples, scene.visit_id) == {named}


async def test_a_round_sweeps_the_recent_visits_and_a_full_sweep_also_the_older_ones(
    scene: Scene, samples: SampleStore
) -> None:
    recent = sample_key(scene.visit_id, b"left by a crash during today's visit")
    older = sample_key("visit-done-long-ago", b"left by a purge cut short")
    await samples.put_all({recent: b"today", older: b"long ago"})

    assert await sweep_once(scene.db, samples, timedelta(0), everything=False) == 1
    assert await objects(samples) & {recent, older} == {older}
    assert await sweep_once(scene.db, samples, timedelta(0)) == 1
    assert await objects(samples) & {recent, older} == set()


def test_production_refuses_to_start_without_an_object_store() -> None:
    config = RecordingSettings(env="production", biometric_keys=BIOMETRIC_KEYS,
                               biometric_active_key=BIOMETRIC_ACTIVE_KEY)  # fmt: skip
    with pytest.raises(ValueError, match="OTS_SAMPLES_URL must be set in production"):
        config.samples_location()


def test_outside_production_samples_default_to_a_folder_in_the_data_dir(tmp_path: Path) -> None:
    config = recording_config(samples_url=None, data_dir=str(tmp_path / ".ots"))
    assert config.samples_location().url == f"file://{tmp_path / '.ots' / 'samples'}"


def test_a_sample_key_names_the_visit_and_the_sealed_bytes_so_a_change_moves_it() -> None:
    blob = b"\x00" * 12 + b"ciphertext and tag"
    key = sample_key("visit-0007", blob)
    assert key == sample_key("visit-0007", bytes(blob)) and visit_of(key) == "visit-0007"
    assert key != sample_key("visit-0007", blob[:-1] + b"!")
    assert unsealed_parts("k1", blob).ciphertext == b"ciphertext and tag"
