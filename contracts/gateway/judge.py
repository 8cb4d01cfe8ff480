"""A day of one vendor's gateway messages judged offline, as recording would judge them.

Everything recording decides from the messages alone and the devices' public keys: the envelope,
the fields and sizes (`read`), the device the message names (`check_known`), its signature and
sample hash (`check_integrity`), a face never excepted, a capture id never reused for another
capture, and each person's capture chain. What needs recording's state is not judged here: whether
the key was still valid at `captured_at`, the visit's schedule and day, the clock.

A message repeating an earlier one's CloudEvents `id` is ignored, not refused: the contract sends
the id as `Nats-Msg-Id`, so JetStream drops the repeat (within its two-hour duplicate window,
whatever the subject), and recording's inbox drops a repeat on the same device's subject. A capture still held when the log ends (its predecessor never came) is what
recording refuses as `broken_chain` when the visit closes.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from contracts.events import GatewayCapture, GatewayException
from contracts.gateway.chain import Admission, CaptureIdentity, Chain, Link, capture_identity
from contracts.gateway.inbound import Inbound, read
from contracts.gateway.reasons import Reason, Rejected
from contracts.gateway.verify import Device, can_be_excepted, check_integrity, check_known

DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024
"""Recording's default `gateway_max_message_bytes`."""


def offline_device(device_id: str, public_key: bytes) -> Device:
    """A device known by its key alone: enrolled, never expiring, never revoked."""
    return Device(device_id, "", public_key, datetime.max.replace(tzinfo=UTC), revoked=False)


@dataclass
class OfflineJudge:
    public_keys: Mapping[str, bytes]
    max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    verdicts: list[Reason | None] = field(default_factory=list)
    """One per message judged, in order: None when it would be accepted."""
    _seen: set[str] = field(default_factory=set)
    _chains: dict[tuple[str, str], Chain] = field(default_factory=dict)
    _captures: dict[str, CaptureIdentity] = field(default_factory=dict)
    _index_of: dict[str, int] = field(default_factory=dict)  # capture id → its message's index

    def judge(self, subject: str, body: bytes) -> int:
        """Judges one message; returns its index in `verdicts` (a later one may still change
        it: a held capture whose chain breaks)."""
        index = len(self.verdicts)
        self.verdicts.append(None)
        try:
            inbound = read(subject, body, self.max_bytes)
            if inbound.event_id in self._seen:
                return index  # a repeat: dropped before recording judges it
            self._seen.add(inbound.event_id)
            self._judge_readable(inbound, index)
        except Rejected as rejected:
            self.verdicts[index] = rejected.reason
        return index

    def end_of_day(self) -> list[Reason | None]:
        """The verdicts once every visit has closed: held captures refused as broken chains."""
        for chain in self._chains.values():
            for link in chain.held():
                self.verdicts[self._index_of[link.capture_id]] = Reason.BROKEN_CHAIN
            chain.links = {s: link for s, link in chain.links.items() if link.linked}
        return list(self.verdicts)

    def _judge_readable(self, inbound: Inbound, index: int) -> None:
        key = self.public_keys.get(inbound.subject_device)
        device = None if key is None else offline_device(inbound.subject_device, key)
        check_integrity(inbound, check_known(inbound, device))
        data = inbound.data
        if isinstance(data, GatewayException) and not can_be_excepted(data.modality):
            raise Rejected(Reason.FACE_NOT_EXCEPTABLE)
        if isinstance(data, GatewayCapture):
            self._chain(data, index)

    def _chain(self, data: GatewayCapture, index: int) -> None:
        identity = capture_identity(data)
        known = self._captures.get(data.capture_id)
        if known is not None and known != identity:
            raise Rejected(Reason.DUPLICATE_CAPTURE_ID)
        chain = self._chains.setdefault((data.visit_id, data.nik), Chain())
        link = Link(data.capture_id, data.sequence, data.sha256, data.chain_hash)
        admitted = chain.admit(link)
        if admitted.admission is Admission.REPLAYED:
            raise Rejected(Reason.REPLAYED_CHAIN)
        if admitted.admission is Admission.BROKEN:
            raise Rejected(Reason.BROKEN_CHAIN)
        if admitted.admission is Admission.DUPLICATE:
            return
        self._captures[data.capture_id] = identity
        self._index_of[data.capture_id] = index
        for broken in admitted.broken:
            self._captures.pop(broken.capture_id, None)
            self.verdicts[self._index_of[broken.capture_id]] = Reason.BROKEN_CHAIN
