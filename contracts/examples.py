"""One realistic `data` instance per subject, and its envelope: a bedridden grandmother's
home visit in Sumbersari, Jember, from the request to the recorded services.

Gateway messages are really signed by the example device's key (published in the
`ots.device.enrolled` example), and the capture's `sha256` and `chain_hash` follow the contract,
so the examples can feed the verifiers as they are.
"""

import base64
import hashlib
import uuid
from datetime import date, datetime
from typing import Any, TypeVar

import nacl.signing
from pydantic import BaseModel

from contracts import events as ev
from contracts import subjects
from contracts.enums import DeviceKind, Modality, ServiceType, VenueType
from contracts.envelope import CloudEvent
from contracts.gateway import signing
from contracts.jember import WIB
from contracts.subjects import EventSpec, envelope_model

M = TypeVar("M", bound=BaseModel)


SUMBERSARI = "350921"
VISIT_ID = "visit-2026-000142"
TEAM_ID = "team-03"
DEVICE_ID = "gw-team03-01"
DEAD_LETTER_SERVICE = "dispatch"

# NIK: kecamatan code, birth date as DDMMYY (day + 40 for women), serial.
GRANDMOTHER_NIK = "3509215203480002"
DAUGHTER_IN_LAW_NIK = "3509216108870001"
GRANDSON_NIK = "3509211501090004"

# A fixed seed keeps the public key and every signature identical from run to run.
_DEVICE_KEY = nacl.signing.SigningKey(hashlib.sha256(DEVICE_ID.encode()).digest())
DEVICE_PUBLIC_KEY = base64.b64encode(bytes(_DEVICE_KEY.verify_key)).decode()

# A WSQ start-of-image marker and filler: a real fingerprint sample is tens of kilobytes.
_SAMPLE = b"\xff\xa0\xff\xa8" + hashlib.sha256(b"right thumb").digest() * 2
_SAMPLE_SHA256 = hashlib.sha256(_SAMPLE).hexdigest()
_FIRST_CHAIN_HASH = hashlib.sha256(
    hashlib.sha256(b"").digest() + bytes.fromhex(_SAMPLE_SHA256)
).hexdigest()


def wib(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, second, tzinfo=WIB)


_EVENT_TIMES: dict[str, datetime] = {
    subjects.TEAM_UPDATED.pattern: wib(1, 9, 0),
    subjects.DEVICE_ENROLLED.pattern: wib(1, 9, 20),
    subjects.TOKEN_REVOKED.pattern: wib(2, 11, 5),
    subjects.VISIT_REQUESTED.pattern: wib(4, 10, 12),
    subjects.DEAD_LETTER.pattern: wib(4, 10, 14, 31),
    subjects.VISIT_CANCELLED.pattern: wib(5, 8, 30),
    subjects.VISIT_CLOSE_REQUESTED.pattern: wib(9, 7, 45),
    subjects.VISIT_SCHEDULED.pattern: wib(7, 17, 0, 4),
    subjects.VISIT_UNASSIGNED.pattern: wib(7, 17, 0, 4),
    subjects.ROUTE_PLANNED.pattern: wib(7, 17, 0, 5),
    subjects.RECORDING_REJECTED.pattern: wib(8, 8, 31, 40),
    subjects.GATEWAY_CAPTURE.pattern: wib(8, 9, 52, 14),
    subjects.RECAPTURE_REQUESTED.pattern: wib(8, 9, 53, 1),
    subjects.GATEWAY_EXCEPTION.pattern: wib(8, 9, 58, 30),
    subjects.GATEWAY_SERVICE.pattern: wib(8, 10, 15, 9),
    subjects.GATEWAY_VISIT_CLOSED.pattern: wib(8, 10, 24, 45),
    subjects.RECORDING_COMPLETED.pattern: wib(8, 10, 24, 46),
    subjects.SERVICE_DELIVERED.pattern: wib(8, 10, 24, 46),
    subjects.VISIT_COMPLETED.pattern: wib(8, 10, 24, 47),
}


def canonical_bytes(data: BaseModel) -> bytes:
    """What a gateway signs: `data` less `signature` and `sample` (contracts.gateway.signing)."""
    return signing.canonical_bytes(data.model_dump(mode="json"))


def _signed(model: type[M], **fields: Any) -> M:
    unsigned = model.model_validate({**fields, "signature": "AA=="})
    signature = base64.b64encode(_DEVICE_KEY.sign(canonical_bytes(unsigned)).signature).decode()
    return unsigned.model_copy(update={"signature": signature})


def example_token(spec: EventSpec) -> str:
    """What stands in for the `*` of a per-device (or per-service) subject."""
    return DEAD_LETTER_SERVICE if spec is subjects.DEAD_LETTER else DEVICE_ID


def example_subject(spec: EventSpec) -> str:
    """The concrete NATS subject the example is published on."""
    return spec.subject(example_token(spec))


def example_source(spec: EventSpec) -> str:
    if spec.producer == "gateway":
        return f"ots/gateway/{DEVICE_ID}"
    if spec.producer == "any":
        return f"ots/{DEAD_LETTER_SERVICE}"
    return f"ots/{spec.producer}"


def _envelope(spec: EventSpec, data: BaseModel) -> CloudEvent[BaseModel]:
    subject = str(getattr(data, spec.subject_key)) if spec.subject_key else None
    return envelope_model(spec)(
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:ots:example:{spec.type}")),
        source=example_source(spec),
        type=spec.type,
        time=_EVENT_TIMES[spec.pattern],
        subject=subject,
        data=data,
    )


_REQUESTED = ev.VisitRequested.model_validate(
    {
        "visit_id": VISIT_ID,
        "requester": {"agency_type": "dinsos", "agency_name": "Dinas Sosial Kabupaten Jember"},
        "venue": {
            "type": "home",
            "name": "Rumah Ibu Siti Aminah",
            "address": "Jl. Kalimantan X No. 12, Kel. Tegal Boto Lor, Kec. Sumbersari",
            "kecamatan_code": SUMBERSARI,
            "lat": -8.1646,
            "lon": 113.7166,
        },
        "services": ["ktp_el_recording", "ikd_activation", "kk"],
        "residents": [
            {
                "nik": GRANDMOTHER_NIK,
                "name": "Siti Aminah",
                "needs": ["bedridden", "cannot_sign"],
            },
            {"nik": DAUGHTER_IN_LAW_NIK, "name": "Dewi Lestari", "needs": []},
            {"nik": GRANDSON_NIK, "name": "Muhammad Rizky Pratama", "needs": []},
        ],
        "expected_people": 3,
        "priority": "high",
        "priority_reasons": ["bedridden", "elderly", "first_time_voter"],
        "window": {"earliest": "2026-12-07", "latest": "2026-12-11"},
    }
)
_REQUESTED_EVENT = _envelope(subjects.VISIT_REQUESTED, _REQUESTED)

EXAMPLES: dict[str, BaseModel] = {
    subjects.VISIT_REQUESTED.pattern: _REQUESTED,
    subjects.VISIT_CANCELLED.pattern: ev.VisitCancelled(
        visit_id="visit-2026-000131",
        reason="The resident was recorded at the Dispendukcapil office on 4 December.",
    ),
    subjects.VISIT_CLOSE_REQUESTED.pattern: ev.VisitCloseRequested(
        visit_id="visit-2026-000139",
        reason="The team's tablet was damaged in the rain; the team reported by phone.",
        requested_by="operator-dukcapil-jember",
        at=wib(9, 7, 45),
    ),
    subjects.VISIT_SCHEDULED.pattern: ev.VisitScheduled(
        visit_id=VISIT_ID,
        team_id=TEAM_ID,
        date=date(2026, 12, 8),
        eta=wib(8, 9, 40),
        service_minutes=45,
        plan_revision=2,
    ),
    subjects.VISIT_UNASSIGNED.pattern: ev.VisitUnassigned(
        visit_id="visit-2026-000147", reason="no_team_with_kit", plan_revision=2
    ),
    subjects.VISIT_COMPLETED.pattern: ev.VisitCompleted(
        visit_id=VISIT_ID,
        team_id=TEAM_ID,
        venue_type=VenueType.HOME,
        kecamatan_code=SUMBERSARI,
        people_recorded=2,
        people_absent=1,
        services_delivered=3,
    ),
    subjects.ROUTE_PLANNED.pattern: ev.RoutePlanned.model_validate(
        {
            "team_id": TEAM_ID,
            "date": "2026-12-08",
            "plan_revision": 2,
            "stops": [
                {
                    "visit_id": "visit-2026-000139",
                    "eta": wib(8, 8, 15),
                    "service_minutes": 60,
                    "travel_minutes": 20,
                },
                {
                    "visit_id": VISIT_ID,
                    "eta": wib(8, 9, 40),
                    "service_minutes": 45,
                    "travel_minutes": 25,
                },
                {
                    "visit_id": "visit-2026-000151",
                    "eta": wib(8, 11, 5),
                    "service_minutes": 120,
                    "travel_minutes": 40,
                },
            ],
            "travel_minutes": 85,
            "distance_km": 31.7,
        }
    ),
    subjects.TEAM_UPDATED.pattern: ev.TeamUpdated.model_validate(
        {
            "team_id": TEAM_ID,
            "name": "Tim Jemput Bola 3",
            "base": {"lat": -8.1661, "lon": 113.7101},
            "kits": ["biometric", "printer", "document"],
            "shift": {"start": "07:30", "end": "15:30"},
            "working_days": ["mon", "tue", "wed", "thu", "fri", "sat"],
            "max_people_per_day": 60,
            "version": 3,
        }
    ),
    subjects.DEVICE_ENROLLED.pattern: ev.DeviceEnrolled(
        device_id=DEVICE_ID,
        team_id=TEAM_ID,
        kind=DeviceKind.GATEWAY,
        public_key=DEVICE_PUBLIC_KEY,
        expires_at=datetime(2027, 6, 30, 23, 59, 59, tzinfo=WIB),
    ),
    subjects.TOKEN_REVOKED.pattern: ev.TokenRevoked(
        token_id="tok-7f3a9c2e41d0",
        expires_at=datetime(2027, 3, 1, 9, 0, 0, tzinfo=WIB),
    ),
    subjects.GATEWAY_CAPTURE.pattern: _signed(
        ev.GatewayCapture,
        capture_id="cap-000142-0001",
        device_id=DEVICE_ID,
        visit_id=VISIT_ID,
        nik=GRANDSON_NIK,
        sequence=1,
        modality="finger",
        position="right_thumb",
        quality=82,
        format="wsq",
        sample=base64.b64encode(_SAMPLE).decode(),
        sha256=_SAMPLE_SHA256,
        chain_hash=_FIRST_CHAIN_HASH,
        captured_at=wib(8, 9, 52, 13),
    ),
    subjects.GATEWAY_EXCEPTION.pattern: _signed(
        ev.GatewayException,
        exception_id="exc-000142-0001",
        device_id=DEVICE_ID,
        visit_id=VISIT_ID,
        nik=GRANDMOTHER_NIK,
        modality="signature",
        kind="permanent",
        reason="Bedridden and cannot hold the signature pen.",
    ),
    subjects.GATEWAY_SERVICE.pattern: _signed(
        ev.GatewayService,
        service_id="svc-000142-0001",
        device_id=DEVICE_ID,
        visit_id=VISIT_ID,
        service_type="ikd_activation",
        count=1,
    ),
    subjects.GATEWAY_VISIT_CLOSED.pattern: _signed(
        ev.GatewayVisitClosed,
        device_id=DEVICE_ID,
        visit_id=VISIT_ID,
        absent_niks=[DAUGHTER_IN_LAW_NIK],
    ),
    subjects.RECAPTURE_REQUESTED.pattern: ev.RecaptureRequested(
        visit_id=VISIT_ID,
        nik=GRANDSON_NIK,
        modality=Modality.FINGER,
        position="right_index",
        quality=38,
        threshold=60,
        attempt=2,
    ),
    subjects.RECORDING_COMPLETED.pattern: ev.RecordingCompleted.model_validate(
        {
            "visit_id": VISIT_ID,
            "nik": GRANDMOTHER_NIK,
            "team_id": TEAM_ID,
            "venue_type": "home",
            "kecamatan_code": SUMBERSARI,
            "modalities": ["finger", "iris", "face"],
            "exceptions": [
                {
                    "modality": "signature",
                    "kind": "permanent",
                    "reason": "Bedridden and cannot hold the signature pen.",
                }
            ],
            "quality": {"finger": 64, "iris": 81, "face": 90},
        }
    ),
    subjects.RECORDING_REJECTED.pattern: ev.RecordingRejected(
        capture_id="cap-000139-0007", device_id="gw-team11-02", reason="bad_signature"
    ),
    subjects.SERVICE_DELIVERED.pattern: ev.ServiceDelivered(
        service_id="svc-000142-0001",
        visit_id=VISIT_ID,
        service_type=ServiceType.IKD_ACTIVATION,
        count=1,
        venue_type=VenueType.HOME,
        kecamatan_code=SUMBERSARI,
        team_id=TEAM_ID,
    ),
    subjects.DEAD_LETTER.pattern: ev.DeadLetter(
        subject=subjects.VISIT_REQUESTED.pattern,
        original=_REQUESTED_EVENT.model_dump_json(),
        headers={"Nats-Msg-Id": _REQUESTED_EVENT.id},
        error="ConnectionDoesNotExistError: connection was closed in the middle of operation",
        attempts=5,
        service=DEAD_LETTER_SERVICE,
        failed_at=_EVENT_TIMES[subjects.DEAD_LETTER.pattern],
    ),
}


def example_event(spec: EventSpec) -> CloudEvent[BaseModel]:
    return _envelope(spec, EXAMPLES[spec.pattern])
