"""The simulated tablet signs and chains as the contract says, and recording accepts it: the
shared protocol's canonical bytes against the contract's own definition, and the tablet's
messages against recording's verification."""

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.enums import Modality
from contracts.gateway import signing as recordings
from contracts.gateway.chain import Admission, Chain, Link
from contracts.gateway.inbound import read
from contracts.gateway.reasons import Reason, Rejected
from contracts.gateway.verify import Device, check_device, check_integrity
from ots.simulate.rules import every_slot
from ots.simulate.tablet import GatewayMessage, SimulatedDevice

MAX_BYTES = 1_000_000
DATA: list[dict[str, Any]] = [
    {"b": 1, "a": "x", "signature": "s", "sample": "AAAA"},
    {"nik": "3509214101050001", "name": "Siti Hasanah · Jember", "absent_niks": [], "n": None},
    {"z": {"y": [1, True, False, None, "é"], "x": "\u2603"}, "big": 2**63 - 1, "neg": -5},
    {"reason": 'quote " backslash \\ tab \t newline \n', "count": 0},
    {"emoji": "🙂", "control": "\u0001", "slash": "a/b"},
]


def device_of(tablet: SimulatedDevice) -> Device:
    return Device(tablet.device_id, "team-1", base64.b64decode(tablet.public_key),
                  datetime.now(UTC) + timedelta(days=1), revoked=False)  # fmt: skip


def accepted(message: GatewayMessage, device: Device) -> None:
    """Raises `Rejected` if recording refuses the message's reading, device or integrity."""
    inbound = read(message.subject, message.body, MAX_BYTES)
    check_device(inbound, device, datetime.now(UTC))
    check_integrity(inbound, device)


@pytest.mark.parametrize("data", DATA)
def test_canonical_bytes_are_the_contracts_json_form(data: dict[str, Any]) -> None:
    unsigned = {k: v for k, v in data.items() if k not in ("signature", "sample")}
    contracts_form = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert recordings.canonical_bytes(data) == contracts_form.encode()
    assert b"signature" not in recordings.canonical_bytes(data)


def test_the_chain_and_digests_are_the_contracts() -> None:
    assert hashlib.sha256(b"").hexdigest() == recordings.GENESIS_HASH
    digest = recordings.sample_digest(b"sample")
    assert digest == hashlib.sha256(b"sample").hexdigest()
    expected = hashlib.sha256(bytes.fromhex(recordings.GENESIS_HASH) + bytes.fromhex(digest))
    assert recordings.next_chain_hash(recordings.GENESIS_HASH, digest) == expected.hexdigest()


def test_recording_accepts_every_kind_of_message_the_tablet_signs() -> None:
    tablet = SimulatedDevice("sim-gateway-1")
    device = device_of(tablet)
    messages = [
        *tablet.full_recording("visit-1", "3509214101050001"),
        tablet.capture("visit-1", "3509214101050001", Modality.IRIS, "left", quality=20),
        tablet.exception("visit-1", "3509215001050002", Modality.SIGNATURE, reason="cannot_sign"),
        tablet.service("visit-1", "kk", 2),
        tablet.visit_closed("visit-1", ["3509215001050003"]),
    ]
    for message in messages:
        accepted(message, device)
        assert recordings.signature_is_valid(device.public_key, message.data)


def test_a_persons_captures_link_into_one_chain_in_any_order() -> None:
    tablet = SimulatedDevice("sim-gateway-1")
    captures = [*tablet.full_recording("visit-1", "3509214101050001"),
                tablet.capture("visit-1", "3509214101050001", Modality.FACE, quality=90)]  # fmt: skip
    assert [c.data["sequence"] for c in captures] == list(range(1, len(every_slot()) + 2))
    chain = Chain()
    for capture in reversed(captures):
        d = capture.data
        chain.admit(Link(d["capture_id"], d["sequence"], d["sha256"], d["chain_hash"]))
    assert chain.held() == [] and len(chain.links) == len(captures)
    other = tablet.capture("visit-2", "3509214101050001", Modality.FACE)
    assert other.data["sequence"] == 1
    first = Chain().admit(Link(other.data["capture_id"], 1, other.data["sha256"],
                               other.data["chain_hash"]))  # fmt: skip
    assert first.admission is Admission.LINKED


def test_recording_refuses_what_the_tablet_did_not_sign() -> None:
    tablet, stranger = SimulatedDevice("sim-gateway-1"), SimulatedDevice("sim-gateway-1")
    message = tablet.service("visit-1", "kk", 1)
    body = json.loads(message.body)
    body["data"]["count"] = 3
    tampered = GatewayMessage(message.subject, json.dumps(body).encode(), message.msg_id, body)
    for refused, device in ((tampered, device_of(tablet)), (message, device_of(stranger))):
        with pytest.raises(Rejected) as caught:
            accepted(refused, device)
        assert caught.value.reason is Reason.BAD_SIGNATURE
