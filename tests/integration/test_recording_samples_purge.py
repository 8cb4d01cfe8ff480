"""`ots recording purge --before DATE`: the captures and sealed samples of recordings delivered
to the centre (complete, in a completed visit, their completion published) go; the rest stays."""

import argparse
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from ots.recording_cli import run_recording
from ots.simulate.tablet import SimulatedDevice
from ots_runtime.settings import Settings
from services.recording.config import RecordingSettings
from services.recording.samples.store import SampleStore, open_store
from tests.integration.test_recording_fixtures import (
    Scene,
    eventually,
    gateway_drained,
    prepare,
    recording_config,
    running_scene,  # noqa: F401 (the scene, with this module's config)
)

TEN_DAYS_AGO = timedelta(days=10)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RecordingSettings:
    url = f"file://{tmp_path / 'samples'}"
    monkeypatch.setenv("OTS_SAMPLES_URL", url)  # as the operator's shell has it for the CLI
    return recording_config(samples_url=url)


@pytest.fixture
def samples(config: RecordingSettings) -> SampleStore:
    return open_store(config.samples_location())


async def objects(samples: SampleStore, prefix: str) -> int:
    return sum([len(page) async for page in samples.listing(prefix)])


async def captures(scene: Scene, visit_id: str) -> int:
    return int(await scene.db.fetchval(
        "SELECT count(*) FROM recording.captures WHERE visit_id = $1", visit_id))  # fmt: skip


def purge_args(before: date, dry_run: bool = False) -> argparse.Namespace:
    return argparse.Namespace(before=before, dry_run=dry_run)


async def test_purge_removes_delivered_recordings_only_and_a_dry_run_only_counts(
    scene: Scene, samples: SampleStore, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    delivered = scene.visit_id
    recorded = [m for nik in scene.niks for m in scene.device.full_recording(delivered, nik)]
    await scene.send([*recorded, scene.device.visit_closed(delivered)])
    await scene.events("ots.visit.completed", expect=1)
    other_device = SimulatedDevice("gw-team07-03")
    still_open, [nik] = await prepare(scene.nc, scene.db, other_device, people=1)
    await scene.send(other_device.full_recording(still_open, nik))
    await eventually(lambda: gateway_drained(scene.nc))
    await eventually(lambda: _outbox_empty(scene))
    await scene.db.execute(  # as if all this had been recorded ten days ago
        "UPDATE recording.people SET completed_at = completed_at - $1::interval", TEN_DAYS_AGO
    )
    a_week_later = (datetime.now(UTC) - TEN_DAYS_AGO + timedelta(days=2)).date()

    assert await run_recording(purge_args(a_week_later, dry_run=True), settings) == 0
    assert "would delete: 28 capture(s) of 2 delivered recording(s)" in capsys.readouterr().out
    assert await captures(scene, delivered) == 28 and await objects(samples, delivered) == 28

    assert await run_recording(purge_args(a_week_later), settings) == 0
    assert "deleted: 28 capture(s) of 2 delivered recording(s)" in capsys.readouterr().out
    assert await captures(scene, delivered) == 0 and await objects(samples, delivered) == 0
    assert await captures(scene, still_open) == 14 and await objects(samples, still_open) == 14
    assert await scene.db.fetchval("SELECT count(*) FROM recording.people") == 3


async def test_purge_refuses_a_date_repeats_could_still_come_back_from(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    assert await run_recording(purge_args(yesterday), settings) == 2
    assert "--before must be no later than" in capsys.readouterr().err


async def _outbox_empty(scene: Scene) -> bool:
    return bool(await scene.db.fetchval("SELECT count(*) FROM recording.outbox") == 0)
