"""The upstream events a tablet's work depends on, published straight to NATS for the tests and
the bench (the simulator asks intake over HTTP instead): a device enrolled for a team, a visit
requested and scheduled for that team."""

from datetime import UTC, datetime, timedelta

from nats.js import JetStreamContext
from pydantic import BaseModel

from contracts import EventSpec, envelope
from contracts.events import DeviceEnrolled, VisitRequested, VisitScheduled
from contracts.jember import WIB
from contracts.subjects import DEVICE_ENROLLED, VISIT_REQUESTED, VISIT_SCHEDULED
from ots.simulate.tablet import SimulatedDevice


async def emit(js: JetStreamContext, spec: EventSpec, data: BaseModel, subject_id: str) -> None:
    event = envelope(data, type_=spec.type, source=f"ots/{spec.producer}", subject=subject_id)
    await js.publish(spec.subject(), event.model_dump_json().encode(),
                     headers={"Nats-Msg-Id": event.id})  # fmt: skip


async def enrol(
    js: JetStreamContext, device: SimulatedDevice, team_id: str, *,
    expires_at: datetime | None = None, revoked: bool = False,
) -> None:  # fmt: skip
    enrolled = DeviceEnrolled.model_validate({
        "device_id": device.device_id, "team_id": team_id, "kind": "gateway",
        "public_key": device.public_key, "revoked": revoked,
        "expires_at": expires_at or datetime.now(UTC) + timedelta(days=365),
    })  # fmt: skip
    await emit(js, DEVICE_ENROLLED, enrolled, device.device_id)


async def schedule_visit(
    js: JetStreamContext, visit_id: str, team_id: str, residents: list[str], *,
    venue_type: str = "school", kecamatan_code: str = "350921",
) -> None:  # fmt: skip
    today = datetime.now(WIB).date()  # the visit's day is Jember's, not this machine's
    requested = VisitRequested.model_validate({
        "visit_id": visit_id,
        "requester": {"agency_type": "school", "agency_name": "SMAN 1 Jember"},
        "venue": {"type": venue_type, "name": "SMAN 1 Jember", "kecamatan_code": kecamatan_code,
                  "lat": -8.17, "lon": 113.70},
        "services": ["ktp_el_recording", "kk"],
        "residents": [{"nik": nik, "name": "Warga"} for nik in residents],
        "expected_people": max(1, len(residents)),
        "window": {"earliest": today.isoformat(), "latest": (today + timedelta(days=7)).isoformat()},
    })  # fmt: skip
    scheduled = VisitScheduled(
        visit_id=visit_id, team_id=team_id, date=today, eta=datetime.now(UTC),
        service_minutes=60, plan_revision=1,
    )  # fmt: skip
    await emit(js, VISIT_REQUESTED, requested, visit_id)
    await emit(js, VISIT_SCHEDULED, scheduled, visit_id)
