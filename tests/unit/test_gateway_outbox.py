"""The SDK's outbox on a real SQLite file: what it signs recording's checks accept, each
person's chain goes on across a restart of the app, and an item recorded twice is one message."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from contracts.enums import Modality
from contracts.gateway.chain import Chain, Link
from contracts.gateway.inbound import read
from contracts.gateway.verify import Device, check_integrity, check_known
from ots_gateway.keys import DeviceKey
from ots_gateway.messages import GatewayMessage
from ots_gateway.outbox import Outbox

DEVICE = "gw-team07-01"
VISIT, NIK = "visit-0001", "3509214101050001"


def accepted(message: GatewayMessage, key: DeviceKey) -> None:
    device = Device(DEVICE, "team-07", key.public_key, datetime.now(UTC) + timedelta(days=1),
                    revoked=False)  # fmt: skip
    inbound = read(message.subject, message.body, 256 * 1024)
    check_integrity(inbound, check_known(inbound, device))


def test_the_chain_goes_on_across_a_restart_and_recording_links_every_capture(
    tmp_path: Path,
) -> None:
    key, path = DeviceKey.load_or_create(tmp_path / "k"), tmp_path / "outbox.db"
    sent: list[GatewayMessage] = []
    for _ in range(3):  # the app started three times
        outbox = Outbox(path, DEVICE, DeviceKey.load_or_create(tmp_path / "k"))
        sent += [outbox.capture(VISIT, NIK, Modality.FINGER, "right_index", quality=50 + i,
                                sample=f"sample {len(sent)} {i}".encode()) for i in range(2)]  # fmt: skip
        outbox.close()
    chain = Chain()
    for message in reversed(sent):  # in any order of arrival
        accepted(message, key)
        data = json.loads(message.body)["data"]
        chain.admit(Link(data["capture_id"], data["sequence"], data["sha256"], data["chain_hash"]))
    assert sorted(link.sequence for link in chain.links.values() if link.linked) == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]
    assert chain.held() == []


def test_an_item_recorded_again_is_the_same_message_and_takes_no_link(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox.db", DEVICE, DeviceKey.generate())
    try:
        first = outbox.capture(VISIT, NIK, Modality.FACE, quality=90, sample=b"face",
                               item_key="face-1")  # fmt: skip
        again = outbox.capture(VISIT, NIK, Modality.FACE, quality=90, sample=b"other",
                               item_key="face-1")  # fmt: skip
        after = outbox.capture(VISIT, NIK, Modality.SIGNATURE, quality=90, sample=b"sig")
        assert (again.msg_id, again.body) == (first.msg_id, first.body)
        assert json.loads(after.body)["data"]["sequence"] == 2
        assert outbox.recorded("face-1") and not outbox.recorded("face-2")
        assert outbox.unsent() == 2
    finally:
        outbox.close()


def test_every_kind_the_outbox_keeps_is_accepted_by_recordings_checks(tmp_path: Path) -> None:
    key = DeviceKey.generate()
    outbox = Outbox(tmp_path / "outbox.db", DEVICE, key)
    try:
        for message in (
            outbox.service(VISIT, "kk", 2),
            outbox.exception(VISIT, NIK, Modality.FINGER, "left_thumb", reason="amputasi · jari"),
            outbox.capture(VISIT, NIK, Modality.IRIS, "left", quality=70, sample=b"\x00" * 64),
            outbox.visit_closed(VISIT, ["3509214101050002"]),
        ):
            accepted(message, key)
    finally:
        outbox.close()
