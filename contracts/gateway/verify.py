"""Trust before anything else: the device, its signature, the sample's hash, the visit.

A capture is judged at its signed `captured_at`, not when it is processed: a tablet that
recorded offline while its key was valid keeps its day. That instant is trusted only once the
signature holds, and only within bounds: no later than the message's arrival plus a small clock
skew, no earlier than the start of the visit's day (WIB). A message that carries no signed time
(exception, service, close) is judged at its arrival.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from contracts.enums import Modality
from contracts.events import GatewayCapture
from contracts.gateway.inbound import Inbound
from contracts.gateway.reasons import Reason, Rejected
from contracts.gateway.signing import ed25519_valid, sample_digest
from contracts.jember import WIB


@dataclass(frozen=True)
class Device:
    device_id: str
    team_id: str
    public_key: bytes
    expires_at: datetime
    revoked: bool
    revoked_at: datetime | None = None  # None while revoked: revoked for every instant

    def trusted_at(self, at: datetime) -> None:
        """Raises `Rejected` unless the device's key was valid at `at`."""
        if self.revoked and (self.revoked_at is None or self.revoked_at <= at):
            raise Rejected(Reason.REVOKED_DEVICE)
        if self.expires_at <= at:
            raise Rejected(Reason.EXPIRED_DEVICE)


@dataclass(frozen=True)
class Visit:
    visit_id: str
    team_id: str | None
    venue_type: str | None
    kecamatan_code: str | None
    cancelled: bool
    closed: bool = False
    completed: bool = False
    unassigned: bool = False  # taken from its team by ots.visit.unassigned
    visit_date: date | None = None  # the day it is planned for, from ots.visit.scheduled

    @property
    def scheduled(self) -> bool:
        return bool(self.team_id and self.venue_type and self.kecamatan_code)


@dataclass(frozen=True)
class Bounds:
    """Where a signed `captured_at` may fall: up to `skew` after the arrival, and from `lead`
    before the start of the visit's day (none in production)."""

    skew: timedelta = timedelta(minutes=5)
    lead: timedelta = timedelta(0)


def gateway_source(device_id: str) -> str:
    """The CloudEvents `source` of a device's messages, as the contract names it."""
    return f"ots/gateway/{device_id}"


def check_known(inbound: Inbound, device: Device | None) -> Device:
    """The message names the device of its subject, everywhere; that device is enrolled."""
    if inbound.data.device_id != inbound.subject_device:
        raise Rejected(Reason.DEVICE_MISMATCH)
    if inbound.source != gateway_source(inbound.subject_device):
        raise Rejected(Reason.SOURCE_MISMATCH)
    if device is None:
        raise Rejected(Reason.UNKNOWN_DEVICE)
    return device


def check_device(inbound: Inbound, device: Device | None, at: datetime) -> Device:
    """`check_known`, and the device's key valid at `at`."""
    known = check_known(inbound, device)
    known.trusted_at(at)
    return known


def signed_time(inbound: Inbound) -> datetime | None:
    data = inbound.data
    return data.captured_at if isinstance(data, GatewayCapture) else None


def judged_at(inbound: Inbound, arrived_at: datetime, skew: timedelta) -> datetime:
    """The instant the device's trust is judged at: the signed capture time (not after the
    arrival plus `skew`), or the arrival for a message without one."""
    signed = signed_time(inbound)
    if signed is None:
        return arrived_at
    if signed > arrived_at + skew:
        raise Rejected(Reason.CAPTURED_IN_FUTURE)
    return signed


def visit_day_start(visit_date: date) -> datetime:
    return datetime.combine(visit_date, time(0), tzinfo=WIB)


def check_visit_day(inbound: Inbound, visit: Visit, lead: timedelta = timedelta(0)) -> None:
    signed, day = signed_time(inbound), visit.visit_date
    if signed is not None and day is not None and signed < visit_day_start(day) - lead:
        raise Rejected(Reason.CAPTURED_BEFORE_VISIT_DAY)


def check_integrity(inbound: Inbound, device: Device) -> None:
    if not signature_holds(inbound, device.public_key):
        raise Rejected(Reason.BAD_SIGNATURE)
    data = inbound.data
    if isinstance(data, GatewayCapture) and sample_digest(inbound.sample or b"") != data.sha256:
        raise Rejected(Reason.HASH_MISMATCH)


def signature_holds(inbound: Inbound, public_key: bytes) -> bool:
    precheck, signed = inbound.precheck, inbound.signed
    if precheck is not None and precheck.public_key == public_key:
        return precheck.valid
    return signed is not None and ed25519_valid(public_key, signed.signature, signed.message)


def check_scheduled(visit: Visit | None, device: Device) -> Visit:
    if visit is None or not visit.scheduled or visit.cancelled or visit.team_id != device.team_id:
        raise Rejected(Reason.NOT_SCHEDULED)
    return visit


def verify(
    inbound: Inbound, device: Device | None, visit: Visit | None, arrived_at: datetime,
    bounds: Bounds = Bounds(),
) -> Visit:  # fmt: skip
    known = check_known(inbound, device)
    check_integrity(inbound, known)
    at = judged_at(inbound, arrived_at, bounds.skew)
    scheduled = check_scheduled(visit, known)
    check_visit_day(inbound, scheduled, bounds.lead)
    known.trusted_at(at)
    return scheduled


def can_be_excepted(modality: Modality) -> bool:
    """A face is always photographed: no exception stands in for it."""
    return modality is not Modality.FACE
