"""A team's tablet (the device gateway) in software: signed captures, exceptions, services and
closes, built as the contract says a device builds them.

Used by the simulator, the tests and the bench to drive recording exactly as a team's tablet
would: over NATS, on `ots.gateway.<device_id>.*`, signed with the device's Ed25519 key and
chaining each person's captures, all through the gateway SDK (`ots_gateway`). Knows nothing
of recording's code: only the contract and the SDK.
"""

import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nats.js import JetStreamContext

from contracts.enums import Modality
from contracts.subjects import EventSpec
from ots.simulate.rules import every_slot
from ots_gateway import messages
from ots_gateway.keys import DeviceKey
from ots_gateway.messages import ChainHead, GatewayMessage

__all__ = ["GatewayMessage", "SimulatedDevice", "publish"]

SAMPLE_BYTES = {Modality.FINGER: 20_000, Modality.IRIS: 30_000, Modality.FACE: 60_000,
                Modality.SIGNATURE: 5_000}  # fmt: skip


@dataclass
class SimulatedDevice:
    """The gateway SDK's messages, its chain kept in memory (`chains` may be bent by a test)."""

    device_id: str
    key: DeviceKey = field(default_factory=DeviceKey.generate)
    chains: dict[tuple[str, str], ChainHead] = field(default_factory=dict)
    """(visit id, NIK) → the last sequence and chain hash of that person's captures."""

    @property
    def public_key(self) -> str:
        """The 32-byte raw public key in standard base64, as enrolled."""
        return self.key.public_key_b64

    def capture(
        self, visit_id: str, nik: str, modality: Modality, position: str | None = None, *,
        quality: int = 80, sample: bytes | None = None, capture_id: str | None = None,
        captured_at: datetime | None = None,
    ) -> GatewayMessage:  # fmt: skip
        """`captured_at` defaults to now; an earlier one is a capture recorded offline."""
        sample = sample if sample is not None else _sample(modality)
        head = self.chains.get((visit_id, nik), (0, messages.GENESIS_HASH))
        data, self.chains[(visit_id, nik)] = messages.capture_data(
            self.device_id, visit_id, nik, modality, position, quality, sample, head,
            capture_id=capture_id, captured_at=captured_at,
        )  # fmt: skip
        return messages.capture(self.device_id, self.key, data)

    def exception(
        self, visit_id: str, nik: str, modality: Modality, position: str | None = None,
        *, kind: str = "permanent", reason: str = "amputated",
    ) -> GatewayMessage:  # fmt: skip
        return messages.exception(
            self.device_id, self.key, visit_id, nik, modality, position, kind=kind, reason=reason
        )

    def service(self, visit_id: str, service_type: str, count: int = 1) -> GatewayMessage:
        return messages.service(self.device_id, self.key, visit_id, service_type, count)

    def visit_closed(self, visit_id: str, absent_niks: list[str] | None = None) -> GatewayMessage:
        return messages.visit_closed(self.device_id, self.key, visit_id, absent_niks)

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
        return messages.signed(self.device_id, self.key, spec, data, subject_id)

    def envelope(self, spec: EventSpec, data: dict[str, Any], subject_id: str) -> GatewayMessage:
        return messages.envelope(self.device_id, spec, data, subject_id)


def _sample(modality: Modality) -> bytes:
    return os.urandom(SAMPLE_BYTES[modality])


async def publish(js: JetStreamContext, messages: list[GatewayMessage]) -> None:
    for message in messages:
        await js.publish(message.subject, message.body, headers={"Nats-Msg-Id": message.msg_id})
