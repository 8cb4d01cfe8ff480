"""One batch of gateway messages, verified and applied inside one transaction."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from contracts.events import (
    GatewayCapture,
    GatewayException,
    GatewayService,
    RecaptureRequested,
    RecordingRejected,
    ServiceDelivered,
)
from contracts.gateway.chain import Admission, capture_identity
from contracts.gateway.inbound import Inbound
from contracts.gateway.reasons import Reason, Rejected
from contracts.gateway.verify import Bounds, Visit, can_be_excepted, verify
from contracts.subjects import RECAPTURE_REQUESTED, RECORDING_REJECTED, SERVICE_DELIVERED
from services.recording.closing import finalize_if_settled
from services.recording.domain.completeness import Thresholds, slot_of
from services.recording.domain.person import CaptureFacts, ExceptionFacts
from services.recording.domain.sealing import Keyring
from services.recording.emit import Outgoing
from services.recording.gateway import store
from services.recording.gateway.completion import completion_events
from services.recording.gateway.writes import NewCapture, Writes, flush
from services.recording.samples.ahead import SealedSample
from services.recording.samples.keys import sample_key, sealed_bytes
from services.recording.samples.store import SampleStore


@dataclass(frozen=True)
class Unreadable:
    key: str
    reason: Reason
    device_id: str
    item_id: str


@dataclass
class BatchApplier:
    conn: asyncpg.Connection
    keyring: Keyring
    thresholds: Thresholds
    close_grace_seconds: float
    may_wait: frozenset[str] = frozenset()  # inbox keys of messages young enough to wait
    bounds: Bounds = field(default_factory=Bounds)  # of a signed captured_at
    writes: Writes = field(default_factory=Writes)
    refused_items: int = 0  # of this batch's own items (a held capture's later refusal is not)
    samples: SampleStore | None = None  # where the kept samples go: required to store captures
    # Samples sealed and written before the transaction, by the identity of their item
    ahead: Mapping[int, SealedSample] = field(default_factory=dict)

    async def apply(self, items: list[Inbound | Unreadable]) -> Writes:
        readable = [i for i in items if isinstance(i, Inbound)]
        self.devices = await store.load_devices(self.conn, (i.subject_device for i in readable))
        self.visits = await store.lock_visits(self.conn, (i.data.visit_id for i in readable))
        self.people = await store.load_people(self.conn, _person_keys(readable))
        service_ids = [i.data.service_id for i in readable if isinstance(i.data, GatewayService)]
        self.known_services = await store.known_services(self.conn, service_ids)
        capture_ids = [i.data.capture_id for i in readable if isinstance(i.data, GatewayCapture)]
        self.known_captures = await store.known_captures(self.conn, capture_ids)
        self.now = datetime.now(UTC)
        for item in items:
            self._apply_one(item)
        self._complete_people()
        await flush(self.conn, self.samples, self.writes, list(self.people.values()))
        await self._finalize_closed_visits()
        return self.writes

    def _apply_one(self, item: Inbound | Unreadable) -> None:
        if isinstance(item, Unreadable):
            self.refused_items += 1
            self._reject(item.reason, item.item_id, item.device_id)
            return
        try:
            device, arrived_at = self.devices.get(item.subject_device), item.arrived_at or self.now
            visit = verify(item, device, self._visit(item), arrived_at, self.bounds)
            self._apply_verified(item, visit)
        except Rejected as rejected:
            if self._may_wait(item, rejected.reason):
                self.writes.deferred.append(item.inbox_key)
                return
            self.refused_items += 1
            self._reject(rejected.reason, item.item_id, item.subject_device)

    def _may_wait(self, item: Inbound, reason: Reason) -> bool:
        """A device or visit recording has not heard of yet may only be late on OTS_EVENTS:
        a young message waits for it rather than being refused for good."""
        if item.inbox_key not in self.may_wait:
            return False
        visit = self._visit(item)
        return reason is Reason.UNKNOWN_DEVICE or (
            reason is Reason.NOT_SCHEDULED
            and (visit is None or not (visit.scheduled or visit.unassigned))
        )

    def _visit(self, item: Inbound) -> Visit | None:
        return self.visits.get(item.data.visit_id)

    def _apply_verified(self, item: Inbound, visit: Visit) -> None:
        data = item.data
        if isinstance(data, GatewayCapture):
            self._capture(data, item.sample or b"", self.ahead.get(id(item)))
        elif isinstance(data, GatewayException):
            self._exception(data)
        elif isinstance(data, GatewayService):
            self._service(data, visit)
        else:
            self.writes.closes.append((data.visit_id, data.device_id, list(data.absent_niks)))

    def _capture(self, data: GatewayCapture, sample: bytes, ahead: SealedSample | None) -> None:
        identity = capture_identity(data)
        known = self.known_captures.get(data.capture_id)
        if known is not None and known != identity:
            raise Rejected(Reason.DUPLICATE_CAPTURE_ID)  # another capture already has this id
        person = self.people[(data.visit_id, data.nik)]
        facts = CaptureFacts(
            data.capture_id, data.sequence, slot_of(data.modality, data.position), data.quality,
            data.sha256, data.chain_hash,
        )  # fmt: skip
        outcome = person.add_capture(facts, self.thresholds)
        if outcome.admission is Admission.REPLAYED:
            raise Rejected(Reason.REPLAYED_CHAIN)
        if outcome.admission is Admission.BROKEN:
            raise Rejected(Reason.BROKEN_CHAIN)
        if outcome.admission is Admission.DUPLICATE:
            return  # the very same capture again: a re-send, not a reused id
        self.known_captures[data.capture_id] = identity
        if ahead is None:  # not sealed ahead: sealed now, written with the rows
            sealed = self.keyring.seal(sample, bound_to=data.capture_id)
            blob = sealed_bytes(sealed)
            ahead = SealedSample(sealed.key_id, sample_key(data.visit_id, blob), blob)
            written = False
        else:
            written = True
        self.writes.captures[data.capture_id] = NewCapture(
            data, ahead.key_id, ahead.sample_key, ahead.sealed, written
        )
        self.writes.now_linked.update(
            c.capture_id for c in outcome.linked if c.capture_id not in self.writes.captures
        )
        for broken in outcome.broken:
            self.writes.forget(broken.capture_id)
            self._reject(Reason.BROKEN_CHAIN, broken.capture_id, data.device_id)
        for recapture in outcome.recaptures:
            request = RecaptureRequested(
                visit_id=data.visit_id, nik=data.nik, modality=recapture.slot[0],
                position=recapture.slot[1] or None, quality=recapture.quality,
                threshold=self.thresholds.of(recapture.slot[0]), attempt=recapture.attempt,
            )  # fmt: skip
            self.writes.events.append(
                Outgoing(RECAPTURE_REQUESTED, request, data.visit_id, data.device_id)
            )

    def _exception(self, data: GatewayException) -> None:
        if not can_be_excepted(data.modality):
            raise Rejected(Reason.FACE_NOT_EXCEPTABLE)
        slot = slot_of(data.modality, data.position)
        facts = ExceptionFacts(data.exception_id, slot, data.kind.value, data.reason)
        if self.people[(data.visit_id, data.nik)].add_exception(facts):
            self.writes.exceptions.append(
                (data.visit_id, data.nik, slot[0].value, slot[1], data.exception_id,
                 data.kind.value, data.reason)
            )  # fmt: skip

    def _service(self, data: GatewayService, visit: Visit) -> None:
        if data.service_id in self.known_services:
            return
        self.known_services.add(data.service_id)
        self.writes.services.append(
            (data.service_id, data.visit_id, data.service_type.value, data.count)
        )
        delivered = ServiceDelivered(
            service_id=data.service_id, visit_id=data.visit_id, service_type=data.service_type,
            count=data.count, venue_type=visit.venue_type, kecamatan_code=visit.kecamatan_code,
            team_id=visit.team_id,
        )  # fmt: skip
        self.writes.events.append(Outgoing(SERVICE_DELIVERED, delivered, data.service_id))

    def _complete_people(self) -> None:
        for person in self.people.values():
            visit = self.visits.get(person.visit_id)
            if person.completed or visit is None or not visit.scheduled:
                continue
            status = person.status(self.thresholds)
            if status.complete:
                person.completed = True
                self.writes.completed.append((person.visit_id, person.nik, status.flagged))
                self.writes.events.extend(completion_events(person, status, visit))

    async def _finalize_closed_visits(self) -> None:
        closing = {c[0] for c in self.writes.closes}
        for visit_id, visit in self.visits.items():
            if (visit.closed or visit_id in closing) and not visit.completed:
                rejections = await finalize_if_settled(
                    self.conn, visit_id, self.close_grace_seconds
                )
                self.writes.rejections.extend(rejections)

    def _reject(self, reason: Reason, item_id: str, device_id: str) -> None:
        self.writes.rejections.append(reason)
        rejected = RecordingRejected(capture_id=item_id, device_id=device_id, reason=reason.value)
        self.writes.events.append(Outgoing(RECORDING_REJECTED, rejected, item_id or None))


def _person_keys(items: list[Inbound]) -> set[tuple[str, str]]:
    return {
        (i.data.visit_id, i.data.nik)
        for i in items
        if isinstance(i.data, GatewayCapture | GatewayException)
    }
