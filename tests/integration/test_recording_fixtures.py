"""Shared by the recording tests: the service running in the test's loop, a team's device, a
scheduled visit, and ways to wait for what recording stored and published."""

import atexit
import itertools
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from nats.aio.client import Client

from ots.simulate.tablet import GatewayMessage, SimulatedDevice, publish
from ots.simulate.upstream import enrol, schedule_visit
from ots_runtime.auth import Role
from ots_runtime.settings import Settings
from services.recording.app import create_app
from services.recording.config import RecordingSettings
from tests.support.events import eventually as eventually  # re-exported to the recording tests
from tests.support.events import published
from tests.support.http_service import serving
from tests.support.requests import a_nik
from tests.support.tokens import BIOMETRIC_ACTIVE_KEY, BIOMETRIC_KEYS, signed_token

READ_TOKEN = signed_token(Role.OPERATOR)
TEAM = "team-07"
_visits = itertools.count(1)
SAMPLES = tempfile.mkdtemp(prefix="ots-test-samples-")  # the folder store of these tests
atexit.register(shutil.rmtree, SAMPLES, ignore_errors=True)


def recording_config(**overrides: Any) -> RecordingSettings:
    values: dict[str, Any] = {"env": "test", "biometric_keys": BIOMETRIC_KEYS,
                              "biometric_active_key": BIOMETRIC_ACTIVE_KEY,
                              "close_check_seconds": 0.2, "gateway_wait_seconds": 0.1,
                              "samples_url": f"file://{SAMPLES}", **overrides}  # fmt: skip
    return RecordingSettings(**values)


@dataclass
class Scene:
    nc: Client
    db: asyncpg.Pool
    http: httpx.AsyncClient
    device: SimulatedDevice
    visit_id: str
    niks: list[str]

    async def send(self, messages: list[GatewayMessage]) -> None:
        await publish(self.nc.jetstream(), messages)

    async def events(self, subject: str, expect: int, within: float = 10.0) -> list[dict[str, Any]]:
        found = await published(self.nc, subject, expect=expect, within=within)
        return [e for e in found if e["data"].get("visit_id", self.visit_id) == self.visit_id]

    async def enrollments(self) -> dict[str, Any]:
        answer = await self.http.get(
            f"/v1/visits/{self.visit_id}/enrollments",
            headers={"Authorization": f"Bearer {READ_TOKEN}"},
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body


async def gateway_drained(nc: Client) -> bool:
    info = await nc.jetstream().consumer_info("OTS_GATEWAY", "recording-gateway")
    return bool(info.num_pending == 0 and info.num_ack_pending == 0)


async def prepare(
    nc: Client, db: asyncpg.Pool, device: SimulatedDevice, people: int
) -> tuple[str, list[str]]:
    visit_id, niks = f"visit-rec-{next(_visits):04d}", [a_nik() for _ in range(people)]
    await enrol(nc.jetstream(), device, TEAM)
    await schedule_visit(nc.jetstream(), visit_id, TEAM, niks)

    async def known() -> bool:
        return bool(await db.fetchval(
            "SELECT count(*) FROM recording.visits v, recording.devices d WHERE v.visit_id = $1"
            " AND v.team_id IS NOT NULL AND v.venue_type IS NOT NULL AND d.device_id = $2",
            visit_id, device.device_id,
        ))  # fmt: skip

    await eventually(known)
    return visit_id, niks


@pytest.fixture(name="config")
def default_config() -> RecordingSettings:
    return recording_config()


@pytest.fixture(name="scene")
async def running_scene(
    settings: Settings, nc: Client, db: asyncpg.Pool, config: RecordingSettings
) -> AsyncIterator[Scene]:
    app = create_app(settings.model_copy(update={"recording_port": 0}), config)
    async with serving(app) as http:
        device = SimulatedDevice("gw-team07-01")
        visit_id, niks = await prepare(nc, db, device, people=2)
        yield Scene(nc, db, http, device, visit_id, niks)
