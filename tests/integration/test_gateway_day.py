"""`ots-gateway work` works its day from what OTS gives a tablet alone: the worklist from its
bucket (projected by recording from the planned route), and the recapture requests from its
feedback, captured again before the visit is closed; the visit completes."""

import asyncio
import re
import sys
from pathlib import Path

import asyncpg
from nats.aio.client import Client

from ots.simulate.tablet import SimulatedDevice
from ots_gateway.keys import DeviceKey
from ots_runtime.embedded import EmbeddedNats
from tests.integration.test_gateway_outbox import running_recording
from tests.integration.test_gateway_worklist import route
from tests.integration.test_recording_fixtures import TEAM, prepare
from tests.support.events import published

__all__ = ["running_recording"]
PEOPLE, SLOTS = 2, 14


async def test_a_tablet_works_its_day_from_its_worklist_and_its_feedback(
    recording: None, nc: Client, db: asyncpg.Pool, nats_server: EmbeddedNats, tmp_path: Path
) -> None:
    key_file = tmp_path / "device.key"
    device = SimulatedDevice("gw-team07-01", DeviceKey.load_or_create(key_file))
    visit_id, niks = await prepare(nc, db, device, people=PEOPLE)
    await route(nc, TEAM, 0, 1, [visit_id])

    tablet = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ots_gateway.cli", "work", "--device", device.device_id,
        "--key-file", str(key_file), "--outbox", str(tmp_path / "outbox.db"),
        "--nats", nats_server.url, "--quality", "20", "--recapture-quality", "90",
        "--recapture-wait", "3", stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, _ = await asyncio.wait_for(tablet.communicate(), 90)
    output = stdout.decode()
    assert tablet.returncode == 0, output
    assert f"recorded {visit_id} {PEOPLE * SLOTS}" in output
    recaptured = sum(int(n) for n in re.findall(rf"recaptured {visit_id} (\d+)", output))
    assert recaptured == PEOPLE * SLOTS  # every slot fell short once, as asked

    [completed] = await published(nc, "ots.visit.completed", expect=1, within=30)
    assert completed["data"]["visit_id"] == visit_id
    people = await published(nc, "ots.recording.completed", expect=PEOPLE, within=30)
    assert sorted(p["data"]["nik"] for p in people) == sorted(niks)
    assert not any(p["data"]["flagged"] for p in people)
    rows = await db.fetch(
        "SELECT nik, array_agg(sequence ORDER BY sequence) AS sequences, bool_and(linked) AS linked"
        " FROM recording.captures WHERE visit_id = $1 GROUP BY nik", visit_id,
    )  # fmt: skip
    assert {r["nik"]: (list(r["sequences"]), r["linked"]) for r in rows} == {
        nik: (list(range(1, 2 * SLOTS + 1)), True) for nik in niks
    }
