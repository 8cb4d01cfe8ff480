"""Whatever a gateway sends that cannot be trusted is refused with its reason and counted:
published as `ots.recording.rejected`, never stored, never a crashed consumer."""

import dataclasses
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from contracts.enums import Modality
from ots.simulate.tablet import GatewayMessage, SimulatedDevice
from ots.simulate.upstream import enrol, schedule_visit
from tests.integration.test_recording_fixtures import (  # noqa: F401 (fixtures)
    TEAM,
    Scene,
    configured,
    eventually,
    running_scene,
)

FINGER = Modality.FINGER
Build = Callable[[Scene], Awaitable[list[GatewayMessage]]]


def a_capture(scene: Scene, device: SimulatedDevice | None = None) -> GatewayMessage:
    return (device or scene.device).capture(scene.visit_id, scene.niks[0], FINGER, "right_index")


async def forged_signature(scene: Scene) -> list[GatewayMessage]:
    return [a_capture(scene, SimulatedDevice(scene.device.device_id))]


async def unknown_device(scene: Scene) -> list[GatewayMessage]:
    return [a_capture(scene, SimulatedDevice("gw-nobody-knows"))]


async def revoked_device(scene: Scene) -> list[GatewayMessage]:
    device = SimulatedDevice("gw-revoked")
    await enrol(scene.nc.jetstream(), device, TEAM, revoked=True)
    await scene.until_known(device)
    return [a_capture(scene, device)]


async def expired_device(scene: Scene) -> list[GatewayMessage]:
    device = SimulatedDevice("gw-expired")
    await enrol(
        scene.nc.jetstream(), device, TEAM, expires_at=datetime.now(UTC) - timedelta(days=1)
    )
    await scene.until_known(device)
    return [a_capture(scene, device)]


async def another_devices_subject(scene: Scene) -> list[GatewayMessage]:
    other = SimulatedDevice("gw-team07-02")
    await enrol(scene.nc.jetstream(), other, TEAM)
    await scene.until_known(other)
    message = a_capture(scene)
    return [dataclasses.replace(message, subject="ots.gateway.gw-team07-02.capture")]


async def tampered_sample(scene: Scene) -> list[GatewayMessage]:
    message = a_capture(scene)
    body = json.loads(message.body)
    body["data"]["sample"] = "A" * len(body["data"]["sample"])
    return [dataclasses.replace(message, body=json.dumps(body).encode())]


async def broken_chain(scene: Scene) -> list[GatewayMessage]:
    first = a_capture(scene)
    key = (scene.visit_id, scene.niks[0])
    scene.device.chains[key] = (1, "00" * 32)  # the second link claims a predecessor never sent
    return [first, a_capture(scene)]


async def replayed_chain(scene: Scene) -> list[GatewayMessage]:
    key = (scene.visit_id, scene.niks[0])
    first = a_capture(scene)
    del scene.device.chains[key]
    return [first, a_capture(scene)]  # sequence 1 again, another capture


async def oversized(scene: Scene) -> list[GatewayMessage]:
    return [
        scene.device.capture(scene.visit_id, scene.niks[0], Modality.FACE, sample=bytes(210_000))
    ]


async def malformed_json(scene: Scene) -> list[GatewayMessage]:
    subject = f"ots.gateway.{scene.device.device_id}.capture"
    return [GatewayMessage(subject, b'{"specversion": "1.0", "data": {', "broken-1", {})]


async def unscheduled_visit(scene: Scene) -> list[GatewayMessage]:
    await schedule_visit(scene.nc.jetstream(), "visit-of-team-99", "team-99", [scene.niks[0]])
    await eventually(lambda: _has_team(scene, "visit-of-team-99"))
    return [scene.device.capture("visit-of-team-99", scene.niks[0], FINGER, "left_thumb")]


CASES: list[tuple[Build, str, int]] = [
    (forged_signature, "bad_signature", 0),
    (unknown_device, "unknown_device", 0),
    (revoked_device, "revoked_device", 0),
    (expired_device, "expired_device", 0),
    (another_devices_subject, "device_mismatch", 0),
    (tampered_sample, "hash_mismatch", 0),
    (broken_chain, "broken_chain", 1),
    (replayed_chain, "replayed_chain", 1),
    (oversized, "too_large", 0),
    (malformed_json, "malformed", 0),
    (unscheduled_visit, "not_scheduled", 0),
]


@pytest.mark.parametrize(("build", "reason", "stored"), CASES, ids=[c[1] for c in CASES])
async def test_an_untrustworthy_message_is_rejected_with_its_reason_and_counted(
    scene: Scene, build: Build, reason: str, stored: int
) -> None:
    before = _rejections(reason)
    await scene.send(await build(scene))

    await scene.rejected(reason, stored)
    assert _rejections(reason) == before + 1


immediate_close = configured(close_grace_seconds=0)


async def test_a_held_capture_whose_predecessor_never_came_is_a_broken_chain_at_close(
    scene: Scene,
) -> None:
    first, lost, third = (a_capture(scene) for _ in range(3))
    await scene.send([third, first, scene.device.visit_closed(scene.visit_id, scene.niks)])

    [rejected] = await scene.events("ots.recording.rejected", expect=1)
    assert (rejected["data"]["reason"], rejected["data"]["capture_id"]) == (
        "broken_chain", third.data["capture_id"])  # fmt: skip
    assert await scene.db.fetchval("SELECT array_agg(capture_id) FROM recording.captures") == [
        first.data["capture_id"]]  # fmt: skip
    assert lost.data["sequence"] == 2


def _rejections(reason: str) -> float:
    return REGISTRY.get_sample_value("ots_recording_rejected_total", {"reason": reason}) or 0.0


async def _has_team(scene: Scene, visit_id: str) -> bool:
    return bool(await scene.db.fetchval(
        "SELECT count(*) FROM recording.visits WHERE visit_id = $1 AND team_id IS NOT NULL", visit_id))  # fmt: skip
