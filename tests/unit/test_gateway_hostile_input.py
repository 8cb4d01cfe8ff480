"""What the gateway fuzz found, pinned: input that crashed a whole batch of recording's work
queue (and so stalled it) is now refused as malformed, and a refusal echoes no unstorable id."""

import json

import pytest

from contracts.enums import Modality
from contracts.gateway.inbound import best_effort_ids, read
from contracts.gateway.reasons import Reason, Rejected
from ots.simulate.tablet import SimulatedDevice

MAX = 256 * 1024
DEVICE = SimulatedDevice("gw-team07-01")


def a_capture() -> tuple[str, bytes]:
    message = DEVICE.capture("visit-1", "3509015205900001", Modality.FACE, sample=b"face")
    return message.subject, message.body


def refusal(subject: str, body: bytes) -> tuple[Reason, str, str]:
    """(reason, device, item) as recording refuses what it cannot read."""
    with pytest.raises(Rejected) as rejected:
        read(subject, body, MAX)
    return (rejected.value.reason, *best_effort_ids(subject, body[:MAX]))


@pytest.mark.parametrize("depth", [1_000, 50_000])
def test_deeply_nested_json_is_malformed_not_a_recursion_error(depth: int) -> None:
    subject, body = a_capture()
    nested = b"[" * depth + b"]" * depth
    inside = body.replace(b'"data": {', b'"data": {"deep": ' + nested + b", ", 1)
    for deep in (nested, inside):
        assert refusal(subject, deep)[0] is Reason.MALFORMED


@pytest.mark.parametrize("data", [7, None, "data", [1, 2]])
def test_data_that_is_not_an_object_is_malformed_and_names_no_item(data: object) -> None:
    subject, body = a_capture()
    event = {**json.loads(body), "data": data}
    assert refusal(subject, json.dumps(event).encode()) == (Reason.MALFORMED, DEVICE.device_id, "")


def test_a_nul_anywhere_is_malformed_even_under_a_valid_signature() -> None:
    message = DEVICE.exception("visit-1", "3509015205900001", Modality.FINGER, "left_ring",
                               reason="luka\x00bakar")  # fmt: skip
    assert refusal(message.subject, message.body)[0] is Reason.MALFORMED


def test_a_refusal_echoes_only_ids_and_devices_of_the_contracts_alphabet() -> None:
    subject, body = a_capture()
    event = json.loads(body)
    event["data"]["capture_id"] = "cap-\ud800"
    odd = json.dumps(event).encode()
    assert refusal(subject, odd) == (Reason.MALFORMED, DEVICE.device_id, "")
    assert best_effort_ids("ots.gateway.gw-\u00fc.capture", body)[0] == ""
