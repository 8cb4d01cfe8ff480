"""Each person's capture chain at a visit, kept in memory (the outbox keeps its own durably)."""

from dataclasses import dataclass, field
from datetime import datetime

from contracts.enums import Modality
from contracts.gateway.signing import GENESIS_HASH
from ots_gateway import messages
from ots_gateway.keys import DeviceKey
from ots_gateway.messages import ChainHead, GatewayMessage

FIRST: ChainHead = (0, GENESIS_HASH)


@dataclass
class Device:
    """A device that signs and chains in memory: for tests, tools and short-lived sessions.
    A tablet that may be killed uses `outbox.Outbox`, which keeps the chain with its messages."""

    device_id: str
    key: DeviceKey = field(default_factory=DeviceKey.generate)
    chains: dict[tuple[str, str], ChainHead] = field(default_factory=dict)

    def capture(
        self, visit_id: str, nik: str, modality: Modality, position: str | None = None, *,
        quality: int = 80, sample: bytes, capture_id: str | None = None,
        captured_at: datetime | None = None,
    ) -> GatewayMessage:  # fmt: skip
        head = self.chains.get((visit_id, nik), FIRST)
        data, after = messages.capture_data(
            self.device_id, visit_id, nik, modality, position, quality, sample, head,
            capture_id=capture_id, captured_at=captured_at,
        )  # fmt: skip
        self.chains[(visit_id, nik)] = after
        return messages.capture(self.device_id, self.key, data)
