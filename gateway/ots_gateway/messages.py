"""The contract's gateway messages, built and signed as recording reads them.

A message's `data` is signed over its canonical bytes (`contracts.gateway.signing`), then
wrapped in a CloudEvent whose `source` names the device; its id doubles as `Nats-Msg-Id`, so a
message sent twice is stored once."""

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts.enums import Modality
from contracts.gateway.signing import GENESIS_HASH, canonical_bytes, next_chain_hash, sample_digest
from contracts.gateway.verify import gateway_source
from contracts.subjects import (
    GATEWAY_CAPTURE,
    GATEWAY_EXCEPTION,
    GATEWAY_SERVICE,
    GATEWAY_VISIT_CLOSED,
    EventSpec,
)
from ots_gateway.keys import DeviceKey

__all__ = ["GENESIS_HASH", "ChainHead", "GatewayMessage"]

FORMATS = {Modality.FINGER: "wsq", Modality.IRIS: "jp2", Modality.FACE: "jpeg",
           Modality.SIGNATURE: "png"}  # fmt: skip


@dataclass(frozen=True)
class GatewayMessage:
    subject: str
    body: bytes
    msg_id: str
    data: dict[str, Any]


ChainHead = tuple[int, str]
"""A person's last capture at a visit: its sequence (0: none yet) and chain hash."""


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


def signed(
    device_id: str, key: DeviceKey, spec: EventSpec, data: dict[str, Any], subject_id: str,
    *, event_id: str | None = None, time: datetime | None = None,
) -> GatewayMessage:  # fmt: skip
    with_signature = {
        **data,
        "signature": base64.b64encode(key.sign(canonical_bytes(data))).decode(),
    }
    return envelope(device_id, spec, with_signature, subject_id, event_id=event_id, time=time)


def envelope(
    device_id: str, spec: EventSpec, data: dict[str, Any], subject_id: str,
    *, event_id: str | None = None, time: datetime | None = None,
) -> GatewayMessage:  # fmt: skip
    event_id = event_id or str(uuid.uuid4())
    body = {"specversion": "1.0", "id": event_id, "source": gateway_source(device_id),
            "type": spec.type, "time": (time or datetime.now(UTC)).isoformat(),
            "subject": subject_id, "datacontenttype": "application/json", "data": data}  # fmt: skip
    return GatewayMessage(
        spec.subject(device_id), json.dumps(body, ensure_ascii=False).encode(), event_id, data
    )


def capture_data(
    device_id: str, visit_id: str, nik: str, modality: Modality, position: str | None,
    quality: int, sample: bytes, head: ChainHead, *, capture_id: str | None = None,
    captured_at: datetime | None = None,
) -> tuple[dict[str, Any], ChainHead]:  # fmt: skip
    """The capture's unsigned `data`, and the person's chain head after it."""
    digest = sample_digest(sample)
    sequence, previous = head
    after = (sequence + 1, next_chain_hash(previous, digest))
    data = {
        "capture_id": capture_id or new_id("cap"), "device_id": device_id, "visit_id": visit_id,
        "nik": nik, "sequence": after[0], "modality": modality.value, "position": position,
        "quality": quality, "format": FORMATS[modality],
        "sample": base64.b64encode(sample).decode(), "sha256": digest,
        "chain_hash": after[1],
        "captured_at": (captured_at or datetime.now(UTC)).isoformat(),
    }  # fmt: skip
    return data, after


def capture(device_id: str, key: DeviceKey, data: dict[str, Any]) -> GatewayMessage:
    return signed(device_id, key, GATEWAY_CAPTURE, data, data["capture_id"])


def exception(
    device_id: str, key: DeviceKey, visit_id: str, nik: str, modality: Modality,
    position: str | None = None, *, kind: str = "permanent", reason: str = "amputated",
    exception_id: str | None = None, event_id: str | None = None, time: datetime | None = None,
) -> GatewayMessage:  # fmt: skip
    exception_id = exception_id or new_id("exc")
    data = {"exception_id": exception_id, "device_id": device_id, "visit_id": visit_id,
            "nik": nik, "modality": modality.value, "position": position, "kind": kind,
            "reason": reason}  # fmt: skip
    return signed(
        device_id, key, GATEWAY_EXCEPTION, data, exception_id, event_id=event_id, time=time
    )


def service(
    device_id: str, key: DeviceKey, visit_id: str, service_type: str, count: int = 1, *,
    service_id: str | None = None, event_id: str | None = None, time: datetime | None = None,
) -> GatewayMessage:  # fmt: skip
    service_id = service_id or new_id("svc")
    data = {"service_id": service_id, "device_id": device_id, "visit_id": visit_id,
            "service_type": service_type, "count": count}  # fmt: skip
    return signed(device_id, key, GATEWAY_SERVICE, data, service_id, event_id=event_id, time=time)


def visit_closed(
    device_id: str, key: DeviceKey, visit_id: str, absent_niks: list[str] | None = None
) -> GatewayMessage:
    data = {"device_id": device_id, "visit_id": visit_id, "absent_niks": list(absent_niks or [])}
    return signed(device_id, key, GATEWAY_VISIT_CLOSED, data, visit_id)
