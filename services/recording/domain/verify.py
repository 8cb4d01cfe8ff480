"""Trust before anything else: the device, its signature, the sample's hash, the visit."""

from dataclasses import dataclass
from datetime import datetime

from contracts.events import GatewayCapture
from services.recording.domain.inbound import Inbound
from services.recording.domain.reasons import Reason, Rejected
from services.recording.domain.signing import ed25519_valid, sample_digest


@dataclass(frozen=True)
class Device:
    device_id: str
    team_id: str
    public_key: bytes
    expires_at: datetime
    revoked: bool


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

    @property
    def scheduled(self) -> bool:
        return bool(self.team_id and self.venue_type and self.kecamatan_code)


def check_device(inbound: Inbound, device: Device | None, now: datetime) -> Device:
    if inbound.data.device_id != inbound.subject_device:
        raise Rejected(Reason.DEVICE_MISMATCH)
    if device is None:
        raise Rejected(Reason.UNKNOWN_DEVICE)
    if device.revoked:
        raise Rejected(Reason.REVOKED_DEVICE)
    if device.expires_at <= now:
        raise Rejected(Reason.EXPIRED_DEVICE)
    return device


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


def verify(inbound: Inbound, device: Device | None, visit: Visit | None, now: datetime) -> Visit:
    trusted = check_device(inbound, device, now)
    check_integrity(inbound, trusted)
    return check_scheduled(visit, trusted)
