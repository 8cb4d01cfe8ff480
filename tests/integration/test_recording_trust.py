"""Device trust: a capture is judged at its signed `captured_at` (within bounds), a device's
CloudEvents ids are its own, a capture id names one capture, and the `source` names the device."""

import dataclasses
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from contracts.enums import Modality
from ots.simulate.tablet import GatewayMessage, SimulatedDevice
from ots.simulate.upstream import enrol
from tests.integration.test_recording_fixtures import (  # noqa: F401 (fixtures)
    TEAM,
    Scene,
    configured,
    eventually,
    gateway_drained,
    running_scene,
)

FINGER = Modality.FINGER
Build = Callable[[Scene], Awaitable[list[GatewayMessage]]]
as_in_production = configured(gateway_capture_lead_days=0)


def a_capture(
    scene: Scene, device: SimulatedDevice | None = None, nik: int = 0, **kwargs: object
) -> GatewayMessage:
    return (device or scene.device).capture(
        scene.visit_id,
        scene.niks[nik],
        FINGER,
        "right_index",
        **kwargs,  # type: ignore[arg-type]
    )


async def enrolled(scene: Scene, device_id: str, **kwargs: object) -> SimulatedDevice:
    device = SimulatedDevice(device_id)
    await enrol(scene.nc.jetstream(), device, TEAM, **kwargs)  # type: ignore[arg-type]
    await scene.until_known(device)
    return device


async def stored_ids(scene: Scene) -> list[str]:
    ids = await scene.db.fetchval(
        "SELECT array_agg(capture_id ORDER BY capture_id) FROM recording.captures"
    )
    return list(ids or [])


def with_body(message: GatewayMessage, **changes: object) -> GatewayMessage:
    body = json.loads(message.body)
    body.update(changes)
    return dataclasses.replace(message, body=json.dumps(body).encode())


async def captured_in_future(scene: Scene) -> list[GatewayMessage]:
    later = datetime.now(UTC) + timedelta(minutes=10)  # the skew allows 5
    return [a_capture(scene, captured_at=later)]


async def captured_before_visit_day(scene: Scene) -> list[GatewayMessage]:
    return [a_capture(scene, captured_at=datetime.now(UTC) - timedelta(days=2))]


async def duplicate_capture_id(scene: Scene) -> list[GatewayMessage]:
    first = a_capture(scene, nik=0)
    return [first, a_capture(scene, nik=1, capture_id=first.data["capture_id"])]


async def wrong_source(scene: Scene) -> list[GatewayMessage]:
    return [with_body(a_capture(scene), source="ots/gateway/gw-team07-99")]


async def captured_after_revocation(scene: Scene) -> list[GatewayMessage]:
    device = await enrolled(scene, "gw-revoked-later", revoked=True)
    return [a_capture(scene, device)]


CASES: list[tuple[Build, str, int]] = [
    (captured_in_future, "captured_in_future", 0),
    (captured_before_visit_day, "captured_before_visit_day", 0),
    (duplicate_capture_id, "duplicate_capture_id", 1),
    (wrong_source, "source_mismatch", 0),
    (captured_after_revocation, "revoked_device", 0),
]


@pytest.mark.parametrize(("build", "reason", "stored"), CASES, ids=[c[1] for c in CASES])
async def test_an_untrusted_message_is_rejected_with_its_reason(
    scene: Scene, build: Build, reason: str, stored: int
) -> None:
    await scene.send(await build(scene))

    await scene.rejected(reason, stored)


async def test_a_capture_recorded_offline_before_expiry_counts_when_uploaded_after(
    scene: Scene,
) -> None:
    now = datetime.now(UTC)
    device = await enrolled(scene, "gw-offline", expires_at=now - timedelta(minutes=1))
    offline = a_capture(scene, device, captured_at=now - timedelta(minutes=2))
    after_expiry = a_capture(scene, device)
    await scene.send([offline, after_expiry])

    [rejected] = await scene.events("ots.recording.rejected", expect=1)
    assert (rejected["data"]["reason"], rejected["data"]["capture_id"]) == (
        "expired_device", after_expiry.data["capture_id"])  # fmt: skip
    await eventually(lambda: gateway_drained(scene.nc))
    assert await stored_ids(scene) == [offline.data["capture_id"]]


async def test_a_reused_capture_id_is_rejected_in_a_later_batch_too(scene: Scene) -> None:
    first = a_capture(scene, nik=0)
    await scene.send([first])
    await eventually(lambda: gateway_drained(scene.nc))
    await eventually(lambda: _stored(scene, 1))
    again = a_capture(scene, nik=1, capture_id=first.data["capture_id"])
    resent = dataclasses.replace(first, msg_id=f"again-{first.msg_id}")
    await scene.send([resent, again])

    [rejected] = await scene.events("ots.recording.rejected", expect=1)
    assert (rejected["data"]["reason"], rejected["data"]["capture_id"]) == (
        "duplicate_capture_id", first.data["capture_id"])  # fmt: skip
    await eventually(lambda: gateway_drained(scene.nc))
    row = await scene.db.fetchrow("SELECT nik, sha256 FROM recording.captures")
    assert (row["nik"], row["sha256"]) == (scene.niks[0], first.data["sha256"])


async def test_another_device_cannot_spend_a_devices_event_id(scene: Scene) -> None:
    other = await enrolled(scene, "gw-team07-05")
    mine = a_capture(scene, nik=0)
    event_id = json.loads(mine.body)["id"]
    theirs = with_body(a_capture(scene, other, nik=1), id=event_id)
    await scene.send([theirs])  # first, under its own transport id
    await eventually(lambda: _stored(scene, 1))
    await scene.send([mine])

    await eventually(lambda: _stored(scene, 2))
    await eventually(lambda: gateway_drained(scene.nc))
    assert await stored_ids(scene) == sorted([mine.data["capture_id"], theirs.data["capture_id"]])
    assert await scene.db.fetchval(
        "SELECT count(*) FROM recording.inbox WHERE event_id LIKE '%' || $1", event_id
    ) == 2  # fmt: skip


async def _stored(scene: Scene, count: int) -> bool:
    return bool(await scene.db.fetchval("SELECT count(*) FROM recording.captures") == count)
