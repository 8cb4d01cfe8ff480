"""A person's completed recording, as events without biometric data."""

import hashlib

from contracts.enums import Modality, ServiceType
from contracts.events import RecordingCompleted, RecordingException, ServiceDelivered
from contracts.gateway.verify import Visit
from contracts.subjects import RECORDING_COMPLETED, SERVICE_DELIVERED
from services.recording.domain.completeness import PersonStatus, SlotState
from services.recording.domain.person import Person
from services.recording.emit import Outgoing


def recording_service_id(visit_id: str, nik: str) -> str:
    """Stable, so a repeat is recognised, and without the NIK, which metrics must not see."""
    return "ktp-" + hashlib.sha256(f"{visit_id}/{nik}".encode()).hexdigest()[:40]


def completion_events(person: Person, status: PersonStatus, visit: Visit) -> list[Outgoing]:
    assert visit.team_id and visit.venue_type and visit.kecamatan_code
    exceptions = [
        RecordingException(
            modality=facts.slot[0], position=facts.slot[1] or None, kind=facts.kind,
            reason=facts.reason,
        )
        for slot, facts in sorted(person.exceptions.items())
        if status.slots[slot] is SlotState.EXCEPTED
    ]  # fmt: skip
    quality = status.min_quality()
    completed = RecordingCompleted(
        visit_id=visit.visit_id, nik=person.nik, team_id=visit.team_id,
        venue_type=visit.venue_type, kecamatan_code=visit.kecamatan_code,
        modalities=[m for m in Modality if m in quality], exceptions=exceptions,
        quality=quality, flagged=status.flagged,
    )  # fmt: skip
    delivered = ServiceDelivered(
        service_id=recording_service_id(visit.visit_id, person.nik), visit_id=visit.visit_id,
        service_type=ServiceType.KTP_EL_RECORDING, count=1, venue_type=visit.venue_type,
        kecamatan_code=visit.kecamatan_code, team_id=visit.team_id,
    )  # fmt: skip
    return [
        Outgoing(RECORDING_COMPLETED, completed, visit.visit_id),
        Outgoing(SERVICE_DELIVERED, delivered, delivered.service_id),
    ]
