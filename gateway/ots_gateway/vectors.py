"""Test vectors for vendors who write a gateway in another language: made by the code recording
runs, from a fixed key and fixed inputs, so they are the same on every run.

Each message vector carries its `expected` verdict, judged by `contracts.gateway.judge` (the
kit's own verdict, which is recording's for what can be judged offline)."""

import base64
import dataclasses
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from contracts.enums import Modality
from contracts.gateway.judge import OfflineJudge
from contracts.gateway.signing import GENESIS_HASH, canonical_bytes, next_chain_hash, sample_digest
from contracts.subjects import GATEWAY_CAPTURE
from ots_gateway import messages
from ots_gateway.keys import DeviceKey
from ots_gateway.messages import GatewayMessage

DEVICE_ID = "gw-vectors-01"
VISIT_ID = "visit-vectors-0001"
NIK = "3509214101050001"
SEED = hashlib.sha256(b"ots-gateway test vectors").digest()
AT = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)

CANONICAL_CASES: list[tuple[str, dict[str, Any]]] = [
    ("keys sorted; signature and sample left out",
     {"b": 1, "a": "x", "signature": "ignored", "sample": "AAAA"}),
    ("non-ASCII names as UTF-8, never \\u escapes",
     {"name": "Siti Ñurul Hasanah · Jember", "kota": "Kabupaten Jember — Jawa Timur",
      "emoji": "🙂", "jawa": "ꦗꦼꦩ꧀ꦧꦼꦂ"}),
    ("quote, backslash and control characters escaped as JSON must",
     {"reason": 'quote " backslash \\ tab \t newline \n', "nul": "\u0000", "bell": "\u0007"}),
    ("nested objects sorted too; null, booleans, empty list, large integers",
     {"z": {"y": [1, True, False, None, "é"], "x": "\u2603"}, "absent_niks": [],
      "big": 2**63 - 1, "neg": -5, "position": None}),
    ("slash and non-BMP characters unescaped",
     {"path": "a/b", "music": "𝄞", "deseret": "𐐷"}),
]  # fmt: skip


def vectors() -> dict[str, Any]:
    key = DeviceKey.from_seed(SEED)
    return {
        "about": "OTS gateway protocol test vectors; every byte string is also given as hex",
        "key": {
            "device_id": DEVICE_ID, "seed_base64": base64.b64encode(SEED).decode(),
            "public_key_base64": key.public_key_b64,
        },
        "canonical": [_canonical(key, name, data) for name, data in CANONICAL_CASES],
        "chain": _chain(),
        "messages": _messages(key),
    }  # fmt: skip


def _canonical(key: DeviceKey, name: str, data: dict[str, Any]) -> dict[str, Any]:
    message = canonical_bytes(data)
    return {
        "name": name, "data": data, "canonical_utf8": message.decode(),
        "canonical_hex": message.hex(),
        "signature_base64": base64.b64encode(key.sign(message)).decode(),
    }  # fmt: skip


def _chain() -> dict[str, Any]:
    links, previous = [], GENESIS_HASH
    for sequence, sample in enumerate([b"", b"first sample", bytes(range(256))], start=1):
        digest = sample_digest(sample)
        previous = next_chain_hash(previous, digest)
        links.append({"sequence": sequence, "sample_base64": base64.b64encode(sample).decode(),
                      "sha256": digest, "chain_hash": previous})  # fmt: skip
    return {"genesis": GENESIS_HASH,
            "rule": "chain_hash = sha256(bytes.fromhex(previous chain_hash) + bytes.fromhex(sha256))",
            "links": links}  # fmt: skip


def _capture(key: DeviceKey, n: int, sample: bytes, head: messages.ChainHead) -> GatewayMessage:
    data, _ = messages.capture_data(
        DEVICE_ID, VISIT_ID, NIK, Modality.FINGER, "right_index", 85, sample, head,
        capture_id=f"cap-vectors-{n:04d}", captured_at=AT,
    )  # fmt: skip
    return messages.signed(DEVICE_ID, key, GATEWAY_CAPTURE, data, data["capture_id"],
                           event_id=_event_id(n), time=AT)  # fmt: skip


def _tampered(
    message: GatewayMessage, data: dict[str, Any] | None = None, **envelope: Any
) -> GatewayMessage:
    """The message changed after signing: `data` members, or envelope members."""
    body = json.loads(message.body)
    body["data"].update(data or {})
    body.update(envelope)
    return GatewayMessage(message.subject, json.dumps(body, ensure_ascii=False).encode(),
                          body["id"], body["data"])  # fmt: skip


def _messages(key: DeviceKey) -> list[dict[str, Any]]:
    first = _capture(key, 1, b"first sample", (0, GENESIS_HASH))
    after_first = (1, first.data["chain_hash"])
    second = _capture(key, 2, b"second sample", after_first)
    other = DeviceKey.from_seed(hashlib.sha256(b"someone else").digest())
    face_exception = messages.exception(
        DEVICE_ID, key, VISIT_ID, NIK, Modality.FACE, None, reason="bandage",
        exception_id="exc-vectors-0001", event_id=_event_id(7), time=AT,
    )  # fmt: skip
    cases: list[tuple[str, GatewayMessage]] = [
        ("a person's first capture", first),
        ("the second capture, chained to the first", second),
        ("the first capture sent again (same id): ignored, not refused", first),
        ("another capture claiming sequence 1", _capture(key, 3, b"another", (0, GENESIS_HASH))),
        ("a capture whose chain_hash does not follow", _capture(key, 4, b"x", (2, "00" * 32))),
        ("a capture signed by another key", _signed_by(other)),
        ("a sample changed after signing", _tampered(
            _capture(key, 5, b"third", (2, second.data["chain_hash"])),
            {"sample": base64.b64encode(b"not what was signed").decode()})),
        ("a face exception (never allowed)", face_exception),
        ("a message whose source names another device", _tampered(
            messages.service(DEVICE_ID, key, VISIT_ID, "kk", service_id="svc-vectors-0001",
                             event_id=_event_id(8), time=AT), source="ots/gateway/gw-other")),
        ("a message on another device's subject", dataclasses.replace(
            _tampered(second, id=_event_id(9)), subject=GATEWAY_CAPTURE.subject("gw-other"))),
        ("an envelope that is not JSON", GatewayMessage(first.subject, b"{not json", "", {})),
    ]  # fmt: skip
    judge = OfflineJudge({DEVICE_ID: key.public_key})
    for _, message in cases:
        judge.judge(message.subject, message.body)
    verdicts = judge.end_of_day()
    return [
        {"name": name, "subject": message.subject, "event": _event(message.body),
         "expected": "ok" if verdict is None else f"rejected {verdict.value}"}
        for (name, message), verdict in zip(cases, verdicts, strict=True)
    ]  # fmt: skip


def _signed_by(other: DeviceKey) -> GatewayMessage:
    data, _ = messages.capture_data(
        DEVICE_ID, VISIT_ID, "3509214101050002", Modality.FACE, None, 90, b"face",
        (0, GENESIS_HASH), capture_id="cap-vectors-0006", captured_at=AT,
    )  # fmt: skip
    return messages.signed(DEVICE_ID, other, GATEWAY_CAPTURE, data, data["capture_id"],
                           event_id=_event_id(6), time=AT)  # fmt: skip


def _event(body: bytes) -> Any:
    """The CloudEvent as JSON; a body that is not JSON as its text (the kit reads both)."""
    try:
        return json.loads(body)
    except ValueError:
        return body.decode()


def _event_id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"
