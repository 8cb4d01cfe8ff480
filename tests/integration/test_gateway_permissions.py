"""On the shipped nats.conf: recording writes each device's worklist and feedback, a device
reads its own keys through the SDK, and no other way to another device's keys is open."""

from datetime import UTC, datetime

import nats.errors
import pytest

from contracts.events import Feedback, Worklist
from contracts.streams import FEEDBACK, WORKLIST, BucketSpec
from ots_gateway.connection import connect, user_name
from ots_gateway.views import read_feedback, read_worklist
from services.recording.views import put_newer
from tests.integration.test_nats_permissions import (
    DEVICE_A,
    DEVICE_B,
    Broker,
    Session,
    admin,
    broker,
    connected,
)

__all__ = ["admin", "broker", "connected"]  # the shipped-config broker and its sessions
TEAM = "team-07"


def worklist(device_id: str, version: int) -> Worklist:
    return Worklist(device_id=device_id, team_id=TEAM, version=version,
                    updated_at=datetime.now(UTC), days=[])  # fmt: skip


async def written_by_recording(sessions: dict[str, Session]) -> None:
    recording = sessions["recording"].js
    for device, version in ((DEVICE_A, 3), (DEVICE_B, 5)):
        assert await put_newer(recording, WORKLIST, device, worklist(device, version), version)
        feedback = Feedback(device_id=device, version=version, updated_at=datetime.now(UTC))
        assert await put_newer(recording, FEEDBACK, device, feedback, version)


async def test_each_device_reads_its_own_worklist_and_feedback(
    connected: dict[str, Session],
) -> None:
    await written_by_recording(connected)
    mine = await read_worklist(connected["A"].js, DEVICE_A)
    theirs = await read_worklist(connected["B"].js, DEVICE_B)
    assert (mine and mine.device_id, theirs and theirs.device_id) == (DEVICE_A, DEVICE_B)
    feedback = await read_feedback(connected["A"].js, DEVICE_A)
    assert feedback is not None and feedback.version == 3
    assert connected["A"].errors == connected["B"].errors == []


async def test_an_older_view_never_replaces_a_newer_one(connected: dict[str, Session]) -> None:
    await written_by_recording(connected)
    assert await put_newer(connected["recording"].js, WORKLIST, DEVICE_B,
                           worklist(DEVICE_B, 4), 4)  # fmt: skip
    theirs = await read_worklist(connected["B"].js, DEVICE_B)
    assert theirs is not None and theirs.version == 5


@pytest.mark.parametrize("bucket", [WORKLIST, FEEDBACK], ids=lambda b: b.name)
async def test_device_b_cannot_read_device_as_keys_by_any_way(
    connected: dict[str, Session], bucket: BucketSpec
) -> None:
    await written_by_recording(connected)
    b = connected["B"]
    with pytest.raises(nats.errors.TimeoutError):  # refused: no answer comes
        await b.js.get_msg(bucket.stream, subject=bucket.subject(DEVICE_A), direct=True)
    await b.refused(f'publish to "{bucket.direct_get(DEVICE_A)}"')
    for subject in (f"$JS.API.DIRECT.GET.{bucket.stream}", f"$JS.API.STREAM.MSG.GET.{bucket.stream}",
                    f"$JS.API.STREAM.INFO.{bucket.stream}",
                    f"$JS.API.CONSUMER.CREATE.{bucket.stream}"):  # fmt: skip
        await b.refused_publish(subject)
    await b.refused_subscription(bucket.subject(DEVICE_A))
    await b.refused_subscription(f"$KV.{bucket.name}.>")
    await b.refused_publish(bucket.subject(DEVICE_B))  # nor write its own


async def test_the_sdk_signs_in_as_its_device_over_tls_and_reads_its_worklist(
    broker: Broker, connected: dict[str, Session]
) -> None:
    await written_by_recording(connected)
    user = user_name(DEVICE_A)
    nc = await connect(broker.gateway_url, user=user, password=broker.password(user),
                       tls=broker.trusting())  # fmt: skip
    try:
        mine = await read_worklist(nc.jetstream(), DEVICE_A)
        assert mine is not None and mine.device_id == DEVICE_A
    finally:
        await nc.close()
