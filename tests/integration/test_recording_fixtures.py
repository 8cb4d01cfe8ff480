"""Shared by the recording tests: the service running in the test's loop, a team's device, a
scheduled visit, and ways to wait for what recording stored and published."""

import atexit
import itertools
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
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


def configured(**overrides: Any) -> Callable[[], RecordingSettings]:
    """A test module's own `config` fixture: `recording_config(**overrides)`, as in
    `patient = configured(gateway_wait_seconds=1.0)`."""

    @pytest.fixture(name="config")
    def config() -> RecordingSettings:
        return recording_config(**overrides)

    return config


def recording_served(
    settings: Settings, config: RecordingSettings
) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    """Recording running in the test's loop, on a port of its own, and a client of its API."""
    return serving(create_app(settings.model_copy(update={"recording_port": 0}), config))


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

    async def rejected(self, reason: str, stored: int) -> None:
        """What was sent is refused once, with `reason`, on `ots.recording.rejected`; once the
        gateway work queue has drained, `stored` captures are kept."""
        [rejected] = await self.events("ots.recording.rejected", expect=1)
        assert rejected["data"]["reason"] == reason
        await eventually(lambda: gateway_drained(self.nc))
        assert await self.db.fetchval("SELECT count(*) FROM recording.captures") == stored

    async def until_known(self, device: SimulatedDevice) -> None:
        """Until recording has applied the device's enrolment."""

        async def known() -> bool:
            return bool(await self.db.fetchval(
                "SELECT count(*) FROM recording.devices WHERE device_id = $1", device.device_id))  # fmt: skip

        await eventually(known)


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


async def a_visit_recorded_in_full(
    nc: Client, db: asyncpg.Pool, device: SimulatedDevice, people: int
) -> tuple[str, list[str]]:
    """A visit of `people` residents prepared, then every capture of each and its close sent
    at once."""
    visit_id, niks = await prepare(nc, db, device, people)
    messages = [m for nik in niks for m in device.full_recording(visit_id, nik)]
    await publish(nc.jetstream(), [*messages, device.visit_closed(visit_id)])
    return visit_id, niks


@pytest.fixture(name="config")
def default_config() -> RecordingSettings:
    return recording_config()


@pytest.fixture(name="scene")
async def running_scene(
    settings: Settings, nc: Client, db: asyncpg.Pool, config: RecordingSettings
) -> AsyncIterator[Scene]:
    async with recording_served(settings, config) as http:
        device = SimulatedDevice("gw-team07-01")
        visit_id, niks = await prepare(nc, db, device, people=2)
        yield Scene(nc, db, http, device, visit_id, niks)
