"""A team's tablet (the device gateway) in software: signed captures, exceptions, services and
closes, built as the contract says a device builds them.

Used by the simulator, the tests and the bench to drive recording exactly as a team's tablet
would: over NATS, on `ots.gateway.<device_id>.*`, signed with the device's Ed25519 key and
chaining each person's captures. Knows nothing of recording's code: only the contract.
"""

import base64
import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from nats.js import JetStreamContext

from contracts.enums import Modality
from contracts.subjects import (
    GATEWAY_CAPTURE,
    GATEWAY_EXCEPTION,
    GATEWAY_SERVICE,
    GATEWAY_VISIT_CLOSED,
    EventSpec,
)
from ots.simulate.rules import every_slot
from ots.simulate.signing import GENESIS_HASH, canonical_bytes, next_chain_hash, sample_sha256

SAMPLE_BYTES = {Modality.FINGER: 20_000, Modality.IRIS: 30_000, Modality.FACE: 60_000,
                Modality.SIGNATURE: 5_000}  # fmt: skip
FORMATS = {Modality.FINGER: "wsq", Modality.IRIS: "jp2", Modality.FACE: "jpeg",
           Modality.SIGNATURE: "png"}  # fmt: skip


@dataclass(frozen=True)
class GatewayMessage:
    subject: str
    body: bytes
    msg_id: str
    data: dict[str, Any]


@dataclass
class SimulatedDevice:
    device_id: str
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    chains: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    """(visit id, NIK) → the last sequence and chain hash of that person's captures."""

    @property
    def public_key(self) -> str:
        """The 32-byte raw public key in standard base64, as enrolled."""
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    def capture(
        self, visit_id: str, nik: str, modality: Modality, position: str | None = None, *,
        quality: int = 80, sample: bytes | None = None, capture_id: str | None = None,
        captured_at: datetime | None = None,
    ) -> GatewayMessage:  # fmt: skip
        """`captured_at` defaults to now; an earlier one is a capture recorded offline."""
        sample = sample if sample is not None else _sample(modality)
        sequence, previous = self.chains.get((visit_id, nik), (0, GENESIS_HASH))
        digest = sample_sha256(sample)
        chain_hash = next_chain_hash(previous, digest)
        self.chains[(visit_id, nik)] = (sequence + 1, chain_hash)
        capture_id = capture_id or f"cap-{uuid.uuid4().hex[:20]}"
        data = {
            "capture_id": capture_id, "device_id": self.device_id,
            "visit_id": visit_id, "nik": nik, "sequence": sequence + 1, "modality": modality.value,
            "position": position, "quality": quality, "format": FORMATS[modality],
            "sample": base64.b64encode(sample).decode(), "sha256": digest,
            "chain_hash": chain_hash, "captured_at": (captured_at or datetime.now(UTC)).isoformat(),
        }  # fmt: skip
        return self.sign(GATEWAY_CAPTURE, data, capture_id)

    def exception(
        self, visit_id: str, nik: str, modality: Modality, position: str | None = None,
        *, kind: str = "permanent", reason: str = "amputated",
    ) -> GatewayMessage:  # fmt: skip
        exception_id = f"exc-{uuid.uuid4().hex[:20]}"
        data = {"exception_id": exception_id, "device_id": self.device_id,
                "visit_id": visit_id, "nik": nik, "modality": modality.value,
                "position": position, "kind": kind, "reason": reason}  # fmt: skip
        return self.sign(GATEWAY_EXCEPTION, data, exception_id)

    def service(self, visit_id: str, service_type: str, count: int = 1) -> GatewayMessage:
        service_id = f"svc-{uuid.uuid4().hex[:20]}"
        data = {"service_id": service_id, "device_id": self.device_id,
                "visit_id": visit_id, "service_type": service_type, "count": count}  # fmt: skip
        return self.sign(GATEWAY_SERVICE, data, service_id)

    def visit_closed(self, visit_id: str, absent_niks: list[str] | None = None) -> GatewayMessage:
        data = {"device_id": self.device_id, "visit_id": visit_id,
                "absent_niks": list(absent_niks or [])}  # fmt: skip
        return self.sign(GATEWAY_VISIT_CLOSED, data, visit_id)

    def full_recording(
        self, visit_id: str, nik: str, *, quality: int = 80, skip: tuple[Modality, ...] = ()
    ) -> list[GatewayMessage]:
        """Every finger, both irises, the face and the signature, each at `quality`."""
        return [
            self.capture(visit_id, nik, modality, position, quality=quality)
            for modality, position in every_slot()
            if modality not in skip
        ]

    def sign(self, spec: EventSpec, data: dict[str, Any], subject_id: str) -> GatewayMessage:
        signed = {
            **data,
            "signature": base64.b64encode(self.key.sign(canonical_bytes(data))).decode(),
        }
        return self.envelope(spec, signed, subject_id)

    def envelope(self, spec: EventSpec, data: dict[str, Any], subject_id: str) -> GatewayMessage:
        event_id = str(uuid.uuid4())
        body = {"specversion": "1.0", "id": event_id, "source": f"ots/gateway/{self.device_id}",
                "type": spec.type, "time": datetime.now(UTC).isoformat(), "subject": subject_id,
                "datacontenttype": "application/json", "data": data}  # fmt: skip
        return GatewayMessage(
            spec.subject(self.device_id), json.dumps(body).encode(), event_id, data
        )


def _sample(modality: Modality) -> bytes:
    return os.urandom(SAMPLE_BYTES[modality])


async def publish(js: JetStreamContext, messages: list[GatewayMessage]) -> None:
    for message in messages:
        await js.publish(message.subject, message.body, headers={"Nats-Msg-Id": message.msg_id})
