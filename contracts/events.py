"""The `data` of every message in the contract's subject table."""

from datetime import date
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from contracts.enums import (
    POSITIONS_BY_MODALITY,
    AgencyType,
    DeviceKind,
    ExceptionKind,
    Kit,
    Modality,
    Need,
    Priority,
    PriorityReason,
    RejectionReason,
    ServiceType,
    UnassignedReason,
    VenueType,
    Weekday,
)

Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_:-]+$")]
Text = Annotated[str, StringConstraints(max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=500)]
Nik = Annotated[str, StringConstraints(pattern=r"^[0-9]{16}$")]
KecamatanCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
TimeOfDay = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Base64 = Annotated[
    str, StringConstraints(min_length=4, max_length=200_000, pattern=r"^[A-Za-z0-9+/=]*$")
]
Signature = Annotated[str, StringConstraints(max_length=200, pattern=r"^[A-Za-z0-9+/=]+$")]
Position = Annotated[str, StringConstraints(max_length=32)]


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class PositionedMessage(Message):
    """A finger or iris names its position from the contract; a face or signature has none."""

    modality: Modality
    position: Position | None = None

    @model_validator(mode="after")
    def _position_fits_modality(self) -> Self:
        allowed = POSITIONS_BY_MODALITY[self.modality]
        if (self.position or None) not in (allowed or (None,)):
            raise ValueError(f"position {self.position!r} is not one of {self.modality}'s")
        return self


class Requester(Message):
    agency_type: AgencyType
    agency_name: Text


class Venue(Message):
    type: VenueType
    name: Text
    address: LongText = ""
    kecamatan_code: KecamatanCode
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Resident(Message):
    nik: Nik
    name: Text
    needs: list[Need] = Field(default_factory=list, max_length=7)


class Window(Message):
    earliest: date
    latest: date


class GeoPoint(Message):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Shift(Message):
    start: TimeOfDay = "08:00"
    end: TimeOfDay = "15:00"


class VisitRequested(Message):
    visit_id: Id
    requester: Requester
    venue: Venue
    services: list[ServiceType] = Field(min_length=1, max_length=8)
    residents: list[Resident] = Field(default_factory=list, max_length=500)
    expected_people: int = Field(ge=1, le=2000)
    priority: Priority = Priority.NORMAL
    priority_reasons: list[PriorityReason] = Field(default_factory=list, max_length=7)
    window: Window
    fixed_start: AwareDatetime | None = None
    duration_minutes: int | None = Field(default=None, ge=15, le=24 * 60)


class VisitCancelled(Message):
    visit_id: Id
    reason: LongText


class VisitCloseRequested(Message):
    """An operator closes a visit whose tablet never sent `visit-closed` (added in v1, additive).

    Recording closes the visit at once: residents not recorded are listed absent, captures
    still held are rejected as `broken_chain`, and `ots.visit.completed` follows. A visit
    already completed, cancelled and never worked, or unknown to recording changes nothing.
    """

    visit_id: Id
    reason: LongText
    requested_by: Text = Field(description="Who asked: the operator's token name or agency.")
    at: AwareDatetime = Field(description="When the operator asked.")


class VisitScheduled(Message):
    visit_id: Id
    team_id: Id
    date: date
    eta: AwareDatetime
    service_minutes: int = Field(ge=0)
    plan_revision: int = Field(ge=0)


class VisitUnassigned(Message):
    visit_id: Id
    reason: UnassignedReason
    plan_revision: int = Field(default=0, ge=0)


class VisitCompleted(Message):
    visit_id: Id
    team_id: Id
    venue_type: VenueType
    kecamatan_code: KecamatanCode
    people_recorded: int = Field(ge=0)
    people_absent: int = Field(ge=0)
    services_delivered: int = Field(ge=0)


class RouteStop(Message):
    visit_id: Id
    eta: AwareDatetime
    service_minutes: int = Field(ge=0)
    travel_minutes: int = Field(ge=0)


class RoutePlanned(Message):
    team_id: Id
    date: date
    plan_revision: int = Field(ge=0)
    stops: list[RouteStop] = Field(max_length=2000)
    travel_minutes: int = Field(ge=0)
    distance_km: float = Field(ge=0)


class TeamUpdated(Message):
    team_id: Id
    name: Text
    base: GeoPoint
    kits: list[Kit] = Field(max_length=3)
    shift: Shift = Shift()
    working_days: list[Weekday] = Field(max_length=7)
    max_people_per_day: int = Field(ge=1, le=2000)
    active: bool = True
    version: int = Field(
        default=0,
        ge=0,
        description=(
            "Counts the team's updates, from 1: a consumer keeps the highest version it has "
            "seen, whatever order updates arrive in. 0 in events from before versions."
        ),
    )


class DeviceEnrolled(Message):
    device_id: Id
    team_id: Id
    kind: DeviceKind
    public_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{43}=$")]
    expires_at: AwareDatetime
    revoked: bool = False


class TokenRevoked(Message):
    """An API token intake issued is refused from now on, by every service, until it expires."""

    token_id: Id
    expires_at: AwareDatetime


class GatewayCapture(PositionedMessage):
    capture_id: Id
    device_id: Id
    visit_id: Id
    nik: Nik
    sequence: int = Field(ge=1, le=10_000)
    quality: int = Field(ge=0, le=100)
    format: Annotated[str, StringConstraints(max_length=32)]
    sample: Base64
    sha256: Sha256Hex
    chain_hash: Sha256Hex
    captured_at: AwareDatetime
    signature: Signature


class GatewayException(PositionedMessage):
    exception_id: Id
    device_id: Id
    visit_id: Id
    nik: Nik
    kind: ExceptionKind
    reason: Text
    signature: Signature


class GatewayService(Message):
    service_id: Id
    device_id: Id
    visit_id: Id
    service_type: ServiceType
    count: int = Field(ge=1, le=1000)
    signature: Signature


class GatewayVisitClosed(Message):
    device_id: Id
    visit_id: Id
    absent_niks: list[Nik] = Field(default_factory=list, max_length=2000)
    signature: Signature


class RecaptureRequested(PositionedMessage):
    visit_id: Id
    nik: Nik
    quality: int = Field(ge=0, le=100)
    threshold: int = Field(ge=0, le=100)
    attempt: int = Field(ge=1)


class RecordingException(PositionedMessage):
    kind: ExceptionKind
    reason: Text


class RecordingCompleted(Message):
    visit_id: Id
    nik: Nik
    team_id: Id
    venue_type: VenueType
    kecamatan_code: KecamatanCode
    modalities: list[Modality]
    exceptions: list[RecordingException] = Field(default_factory=list)
    quality: dict[Modality, Annotated[int, Field(ge=0, le=100)]]
    flagged: bool = False


class RecordingRejected(Message):
    capture_id: Annotated[str, StringConstraints(max_length=64)]
    device_id: Annotated[str, StringConstraints(max_length=64)]
    reason: RejectionReason


class ServiceDelivered(Message):
    service_id: Id
    visit_id: Id
    service_type: ServiceType
    count: int = Field(ge=1)
    venue_type: VenueType
    kecamatan_code: KecamatanCode
    team_id: Id


class DeadLetter(Message):
    subject: str
    original: str
    original_encoding: Literal["utf-8", "base64"] = "utf-8"
    headers: dict[str, str] = Field(default_factory=dict)
    error: str
    attempts: int = Field(ge=1)
    service: str
    failed_at: AwareDatetime


class WorklistStop(Message):
    """One visit of a device's worklist: where, what, and whom to record."""

    visit_id: Id
    eta: AwareDatetime
    service_minutes: int = Field(ge=0)
    venue: Venue
    services: list[ServiceType] = Field(max_length=8)
    residents: list[Resident] = Field(max_length=500)


class WorklistDay(Message):
    date: date
    plan_revision: int = Field(ge=0)
    stops: list[WorklistStop] = Field(max_length=2000)


class Worklist(Message):
    """A device's key in the `OTS_WORKLIST` bucket: its team's stops today and tomorrow (WIB),
    without the visits completed, cancelled or reassigned. `version` only grows."""

    device_id: Id
    team_id: Id
    version: int = Field(ge=0)
    updated_at: AwareDatetime
    days: list[WorklistDay] = Field(max_length=2)


class FeedbackRecapture(Message):
    """A recapture request for one of the device's captures (`ots.recapture.requested`)."""

    event_id: Annotated[str, StringConstraints(max_length=128)]
    at: AwareDatetime
    request: RecaptureRequested


class FeedbackRejection(Message):
    """One of the device's messages refused (`ots.recording.rejected`)."""

    event_id: Annotated[str, StringConstraints(max_length=128)]
    at: AwareDatetime
    capture_id: Annotated[str, StringConstraints(max_length=64)]
    reason: RejectionReason


class Feedback(Message):
    """A device's key in the `OTS_FEEDBACK` bucket: the recapture requests and rejections of
    its messages of the last two days, oldest first. `version` only grows."""

    device_id: Id
    version: int = Field(ge=0)
    updated_at: AwareDatetime
    recaptures: list[FeedbackRecapture] = Field(default_factory=list, max_length=1000)
    rejections: list[FeedbackRejection] = Field(default_factory=list, max_length=1000)
