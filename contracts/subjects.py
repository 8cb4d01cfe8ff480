"""Every subject of the contract, the model of its `data`, and who produces and consumes it."""

from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from pydantic import BaseModel

from contracts import events as ev
from contracts.envelope import CloudEvent


@dataclass(frozen=True)
class EventSpec:
    """One row of the contract's subject table."""

    pattern: str
    model: type[BaseModel]
    producer: str
    consumers: tuple[str, ...]
    summary: str
    subject_key: str = field(default="")

    @property
    def type(self) -> str:
        """CloudEvents `type`: the subject pattern without the device wildcard, plus `.v1`."""
        return ".".join(p for p in self.pattern.split(".") if p != "*") + ".v1"

    def subject(self, device_id: str | None = None) -> str:
        if "*" not in self.pattern:
            return self.pattern
        if not device_id:
            raise ValueError(f"{self.pattern} needs a device id")
        return self.pattern.replace("*", device_id)


# fmt: off
VISIT_REQUESTED = EventSpec(
    "ots.visit.requested", ev.VisitRequested, "intake", ("dispatch", "recording", "metrics"),
    "An operator asked for a visit.", "visit_id",
)
VISIT_CANCELLED = EventSpec(
    "ots.visit.cancelled", ev.VisitCancelled, "intake", ("dispatch", "recording", "metrics"),
    "An operator cancelled a visit.", "visit_id",
)
VISIT_CLOSE_REQUESTED = EventSpec(
    "ots.visit.close-requested", ev.VisitCloseRequested, "intake", ("recording",),
    "An operator closed a visit its tablet never closed; recording completes it.", "visit_id",
)
VISIT_SCHEDULED = EventSpec(
    "ots.visit.scheduled", ev.VisitScheduled, "dispatch", ("intake", "recording", "metrics"),
    "A visit has a team, a day and an ETA; a later plan_revision supersedes.", "visit_id",
)
VISIT_UNASSIGNED = EventSpec(
    "ots.visit.unassigned", ev.VisitUnassigned, "dispatch", ("intake", "recording", "metrics"),
    "No team can serve a visit, with the reason.", "visit_id",
)
VISIT_COMPLETED = EventSpec(
    "ots.visit.completed", ev.VisitCompleted, "recording", ("intake", "dispatch", "recording", "metrics"),
    "A team closed a visit.", "visit_id",
)
ROUTE_PLANNED = EventSpec(
    "ots.route.planned", ev.RoutePlanned, "dispatch", ("gateway", "recording", "metrics"),
    "A team-day's ordered stops changed.", "team_id",
)
TEAM_UPDATED = EventSpec(
    "ots.team.updated", ev.TeamUpdated, "intake", ("dispatch", "metrics"),
    "A team was created or changed.", "team_id",
)
DEVICE_ENROLLED = EventSpec(
    "ots.device.enrolled", ev.DeviceEnrolled, "intake", ("recording",),
    "A device was enrolled, renewed or revoked.", "device_id",
)
TOKEN_REVOKED = EventSpec(
    "ots.token.revoked", ev.TokenRevoked, "intake", ("intake", "dispatch", "recording", "metrics"),
    "An API token was revoked; every service refuses it from then on.", "token_id",
)
GATEWAY_CAPTURE = EventSpec(
    "ots.gateway.*.capture", ev.GatewayCapture, "gateway", ("recording",),
    "A signed biometric capture from a team's device.", "capture_id",
)
GATEWAY_EXCEPTION = EventSpec(
    "ots.gateway.*.exception", ev.GatewayException, "gateway", ("recording",),
    "A declared biometric exception (missing finger, eye condition, cannot sign).",
    "exception_id",
)
GATEWAY_SERVICE = EventSpec(
    "ots.gateway.*.service", ev.GatewayService, "gateway", ("recording",),
    "A non-biometric service delivered on the spot.", "service_id",
)
GATEWAY_VISIT_CLOSED = EventSpec(
    "ots.gateway.*.visit-closed", ev.GatewayVisitClosed, "gateway", ("recording",),
    "A team closed a visit on its tablet.", "visit_id",
)
RECAPTURE_REQUESTED = EventSpec(
    "ots.recapture.requested.*", ev.RecaptureRequested, "recording", ("gateway",),
    "A capture fell below its threshold: capture again.", "visit_id",
)
RECORDING_COMPLETED = EventSpec(
    "ots.recording.completed", ev.RecordingCompleted, "recording", ("intake", "metrics"),
    "A person's recording is complete (no biometric data).", "visit_id",
)
RECORDING_REJECTED = EventSpec(
    "ots.recording.rejected", ev.RecordingRejected, "recording", ("metrics",),
    "A gateway message was refused, with the reason.", "capture_id",
)
SERVICE_DELIVERED = EventSpec(
    "ots.service.delivered", ev.ServiceDelivered, "recording", ("metrics",),
    "A service was delivered at a visit.", "service_id",
)
DEAD_LETTER = EventSpec(
    "ots.dlq.*", ev.DeadLetter, "any", ("operators",),
    "A message a service could not process, with the error and attempt count.", "",
)

ALL: tuple[EventSpec, ...] = (
    VISIT_REQUESTED, VISIT_CANCELLED, VISIT_CLOSE_REQUESTED, VISIT_SCHEDULED, VISIT_UNASSIGNED,
    VISIT_COMPLETED, ROUTE_PLANNED, TEAM_UPDATED, DEVICE_ENROLLED, TOKEN_REVOKED, GATEWAY_CAPTURE,
    GATEWAY_EXCEPTION,
    GATEWAY_SERVICE, GATEWAY_VISIT_CLOSED, RECAPTURE_REQUESTED, RECORDING_COMPLETED,
    RECORDING_REJECTED, SERVICE_DELIVERED, DEAD_LETTER,
)
# fmt: on


@cache
def envelope_model(spec: EventSpec) -> type[CloudEvent[BaseModel]]:
    """`CloudEvent[spec.model]`: parametrised with the spec's own model so that every field of
    `data` is validated and serialised, not just those of `BaseModel`."""
    data_model: Any = spec.model  # mypy takes no variable as a type argument, Any it does
    return CloudEvent[data_model]


@lru_cache(maxsize=4096)
def spec_for_subject(subject: str) -> EventSpec | None:
    """The spec whose pattern matches a concrete subject (`*` matches one token)."""
    tokens = subject.split(".")
    for spec in ALL:
        pattern = spec.pattern.split(".")
        if len(pattern) == len(tokens) and all(
            p in ("*", t) for p, t in zip(pattern, tokens, strict=True)
        ):
            return spec
    return None
