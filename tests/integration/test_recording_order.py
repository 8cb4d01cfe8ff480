"""A gateway flushing hours of work sends it in any order, some of it twice: same result."""

import dataclasses
import json
import random

import pytest

from contracts.enums import Modality
from contracts.subjects import (
    GATEWAY_CAPTURE,
    GATEWAY_EXCEPTION,
    GATEWAY_SERVICE,
    GATEWAY_VISIT_CLOSED,
)
from ots.simulate.rules import every_slot
from ots.simulate.tablet import GatewayMessage
from services.recording.config import RecordingSettings
from tests.integration.test_recording_fixtures import (  # noqa: F401 (fixtures)
    Scene,
    eventually,
    gateway_drained,
    recording_config,
    running_scene,
)

SPECS = {s.subject("x").rsplit(".", 1)[1]: s for s in
         (GATEWAY_CAPTURE, GATEWAY_EXCEPTION, GATEWAY_SERVICE, GATEWAY_VISIT_CLOSED)}  # fmt: skip


@pytest.fixture(name="config")
def small_batches() -> RecordingSettings:
    """Small batches, so that held captures and the early close span several of them."""
    return recording_config(gateway_batch_size=7)


def a_day_at_the_visit(scene: Scene) -> list[GatewayMessage]:
    device, visit = scene.device, scene.visit_id
    first, second = scene.niks
    messages = [device.capture(visit, first, Modality.FINGER, "right_thumb", quality=20)]
    messages += [device.capture(visit, first, m, p, quality=85) for m, p in every_slot()]
    excepted = [(Modality.FINGER, "left_little"), (Modality.SIGNATURE, None)]
    messages += [device.exception(visit, second, m, p) for m, p in excepted]
    messages += [device.capture(visit, second, m, p, quality=70) for m, p in every_slot()
                 if (m, p) not in excepted]  # fmt: skip
    return [*messages, device.service(visit, "kk"), device.visit_closed(visit)]


def resent(scene: Scene, message: GatewayMessage, fresh_envelope: bool) -> GatewayMessage:
    """A re-send JetStream cannot recognise: a new Nats-Msg-Id, maybe a new CloudEvents id."""
    if not fresh_envelope:
        return dataclasses.replace(message, msg_id=message.msg_id + "-again")
    spec = SPECS[message.subject.rsplit(".", 1)[1]]
    subject_id = json.loads(message.body)["subject"]
    return scene.device.envelope(spec, message.data, subject_id)


async def test_shuffled_and_repeated_messages_give_the_same_recordings_counted_once(
    scene: Scene,
) -> None:
    messages = a_day_at_the_visit(scene)
    shuffler = random.Random(20261208)
    repeats = [resent(scene, m, fresh_envelope=i % 2 == 0)
               for i, m in enumerate(shuffler.sample(messages, 12))]  # fmt: skip
    flushed = messages + repeats
    shuffler.shuffle(flushed)
    await scene.send(flushed)

    completed = await scene.events("ots.recording.completed", expect=2)
    by_nik = {c["data"]["nik"]: c["data"] for c in completed}
    first, second = (by_nik[nik] for nik in scene.niks)
    assert len(completed) == 2
    assert first["quality"] == {"finger": 85, "iris": 85, "face": 85, "signature": 85}
    assert (first["exceptions"], first["flagged"]) == ([], False)
    assert len(second["exceptions"]) == 2 and second["quality"]["finger"] == 70
    [visit] = await scene.events("ots.visit.completed", expect=1)
    assert (visit["data"]["people_recorded"], visit["data"]["people_absent"]) == (2, 0)
    assert visit["data"]["services_delivered"] == 3
    assert len(await scene.events("ots.service.delivered", expect=3)) == 3
    assert len(await scene.events("ots.recapture.requested.>", expect=1)) == 1
    assert await scene.events("ots.recording.rejected", expect=1, within=0.5) == []
    await eventually(lambda: gateway_drained(scene.nc))
    assert await scene.db.fetchval("SELECT count(*) FROM recording.captures") == 15 + 12
