"""A visit request as an operator submits it: the contract's fields less the assigned id."""

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.enums import Priority, PriorityReason, ServiceType
from contracts.events import Requester, Resident, Venue, Window


class NewVisit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

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
