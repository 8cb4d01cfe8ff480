"""A tablet working its day through the SDK survives being killed mid-flush and NATS going away:
every capture reaches recording exactly once, each person's chain in order, and the visit
completes. The tablet is a real `ots-gateway work` process; recording, NATS and PostgreSQL are
real."""

import asyncio
import os
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest
from nats.aio.client import Client

from contracts.enums import ServiceType
from contracts.events import Resident, Venue, Worklist, WorklistDay, WorklistStop
from contracts.jember import WIB
from ots.simulate.tablet import SimulatedDevice
from ots_gateway.keys import DeviceKey
from ots_runtime.embedded import EmbeddedNats
from ots_runtime.settings import Settings
from services.recording.app import create_app
from tests.integration.test_recording_fixtures import TEAM, eventually, prepare, recording_config
from tests.support.events import published
from tests.support.http_service import serving

PEOPLE = 3
SLOTS = 14  # ten fingers, two irises, the face, the signature


@pytest.fixture(name="recording")
async def running_recording(settings: Settings) -> AsyncIterator[None]:
    app = create_app(settings.model_copy(update={"recording_port": 0}),
                     recording_config(close_grace_seconds=0))  # fmt: skip
    async with serving(app):
        yield


def a_worklist(device_id: str, visit_id: str, niks: list[str]) -> Worklist:
    venue = Venue(type="school", name="SMAN 1 Jember", kecamatan_code="350921",
                  lat=-8.17, lon=113.70)  # fmt: skip
    stop = WorklistStop(
        visit_id=visit_id, eta=datetime.now(UTC), service_minutes=60, venue=venue,
        services=[ServiceType.KK], residents=[Resident(nik=n, name="Warga Ñoman") for n in niks],
    )  # fmt: skip
    today = WorklistDay(date=datetime.now(WIB).date(), plan_revision=1, stops=[stop])
    return Worklist(device_id=device_id, team_id=TEAM, version=1, updated_at=datetime.now(UTC),
                    days=[today])  # fmt: skip


def sent(outbox: Path) -> tuple[int, int]:
    """(sent, all) in the tablet's outbox, read beside the running tablet."""
    if not outbox.exists():
        return 0, 0
    db = sqlite3.connect(f"file:{outbox}?mode=ro", uri=True)
    try:
        done, recorded = db.execute(
            "SELECT coalesce(sum(sent), 0), count(*) FROM messages"
        ).fetchone()
        return int(done), int(recorded)
    except sqlite3.OperationalError:  # the tablet is still creating its outbox
        return 0, 0
    finally:
        db.close()


def captures(outbox: Path) -> int:
    db = sqlite3.connect(f"file:{outbox}?mode=ro", uri=True)
    try:
        return int(db.execute(
            "SELECT count(*) FROM messages WHERE subject LIKE '%.capture'"
        ).fetchone()[0])  # fmt: skip
    finally:
        db.close()


async def until(check: Callable[[], bool], within: float = 30.0) -> None:
    async def holds() -> bool:
        return bool(check())

    await eventually(holds, within)


async def test_a_tablet_killed_mid_flush_with_nats_down_delivers_every_capture_once_in_order(
    recording: None, nc: Client, db: asyncpg.Pool, nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    key_file, outbox, worklist = (
        tmp_path / "device.key",
        tmp_path / "outbox.db",
        tmp_path / "w.json",
    )
    device = SimulatedDevice("gw-team07-01", DeviceKey.load_or_create(key_file))
    visit_id, niks = await prepare(nc, db, device, people=PEOPLE)
    worklist.write_text(a_worklist(device.device_id, visit_id, niks).model_dump_json())
    command = [sys.executable, "-m", "ots_gateway.cli", "work", "--device", device.device_id,
               "--key-file", str(key_file), "--outbox", str(outbox), "--nats", nats_server.url,
               "--worklist", str(worklist), "--flush-pause", "0.05", "--flush-batch", "4"]  # fmt: skip
    total = PEOPLE * SLOTS + 2  # and one service, one close

    tablet = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.DEVNULL)
    await until(lambda: sent(outbox)[0] >= 5)
    tablet.send_signal(signal.SIGKILL)
    await tablet.wait()
    done, _ = sent(outbox)
    assert 0 < done < total  # killed mid-flush (and maybe before it had recorded everyone)
    captured_before = captures(outbox)

    nats_server.stop()
    try:
        again = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
        await asyncio.sleep(1.0)  # the tablet, restarted, finds no NATS and keeps trying
        assert again.returncode is None and sent(outbox)[0] == done
    finally:
        nats_server.start()
    stdout, _ = await asyncio.wait_for(again.communicate(), 60)
    output = stdout.decode()
    assert again.returncode == 0, output
    # after the restart only what was missing is recorded, nothing twice
    assert f"recorded {visit_id} {PEOPLE * SLOTS - captured_before}" in output
    assert sent(outbox) == (total, total)

    [completed] = await published(nc, "ots.visit.completed", expect=1, within=30)
    assert completed["data"]["visit_id"] == visit_id
    people = await published(nc, "ots.recording.completed", expect=PEOPLE, within=30)
    assert sorted(p["data"]["nik"] for p in people) == sorted(niks)
    rows = await db.fetch(
        "SELECT nik, sequence, linked, capture_id FROM recording.captures WHERE visit_id = $1"
        " ORDER BY nik, sequence", visit_id,
    )  # fmt: skip
    assert len(rows) == len({r["capture_id"] for r in rows}) == PEOPLE * SLOTS
    for nik in niks:
        mine = [r for r in rows if r["nik"] == nik]
        assert [r["sequence"] for r in mine] == list(range(1, SLOTS + 1))
        assert all(r["linked"] for r in mine)
    rejected = await published(nc, "ots.recording.rejected", expect=0, within=1)
    assert [r for r in rejected if r["data"]["device_id"] == device.device_id] == []
    assert os.stat(key_file).st_mode & 0o077 == 0  # the private key readable by its owner only
