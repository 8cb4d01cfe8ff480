"""A visit request as an operator submits it: the contract's fields less the assigned id."""

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.enums import Priority, PriorityReason, ServiceType
from contracts.events import Requester, Resident, Venue, Window
from services.intake.domain.text import FreeText, Name


class OverrideReason(StrEnum):
    """Why an operator asks to record again a person who already has a KTP-el recording."""

    RERECORDING_REQUESTED_BY_CENTER = "rerecording_requested_by_center"


class RecordingOverride(BaseModel):
    """An operator's leave to record this resident again; kept in the visit's history."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: OverrideReason
    note: FreeText = ""


class NewRequester(Requester):
    """The requester as the body names it; an agency token's own agency replaces the name."""

    agency_name: Name


class NewVenue(Venue):
    name: Name
    address: FreeText = ""


class NewResident(Resident):
    """A resident as requested: the contract's, plus an optional override (intake only: the
    override never leaves intake in `ots.visit.requested`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    override: RecordingOverride | None = None


class NewVisit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    requester: NewRequester
    venue: NewVenue
    services: list[ServiceType] = Field(min_length=1, max_length=8)
    residents: list[NewResident] = Field(default_factory=list, max_length=500)
    expected_people: int = Field(ge=1, le=2000)
    priority: Priority = Priority.NORMAL
    priority_reasons: list[PriorityReason] = Field(default_factory=list, max_length=7)
    window: Window
    fixed_start: AwareDatetime | None = None
    duration_minutes: int | None = Field(default=None, ge=15, le=24 * 60)

    @property
    def records(self) -> bool:
        """Whether this request asks for KTP-el recording, the one service done once a life."""
        return ServiceType.KTP_EL_RECORDING in self.services

    @property
    def overridden(self) -> list[tuple[int, NewResident]]:
        return [(i, r) for i, r in enumerate(self.residents) if r.override is not None]
