"""The metrics the service exposes: names and label names from the contract, bounded values."""

from dataclasses import dataclass

from contracts.enums import Modality, Priority, RejectionReason, UnassignedReason, VisitStatus

HOUR = 3600.0
DAY = 24 * HOUR


@dataclass(frozen=True)
class MetricDef:
    name: str
    help: str
    labels: tuple[str, ...]


VISITS_REQUESTED = MetricDef(
    "ots_visits_requested_total",
    "Visits requested, by venue type, kecamatan and priority",
    ("venue_type", "kecamatan", "priority"),
)
VISITS_SCHEDULED = MetricDef(
    "ots_visits_scheduled_total", "Scheduling decisions, by team", ("team",)
)
VISITS_UNASSIGNED = MetricDef(
    "ots_visits_unassigned_total", "Visits no team could serve, by reason", ("reason",)
)
VISITS_CANCELLED = MetricDef("ots_visits_cancelled_total", "Visits cancelled", ())
VISITS_COMPLETED = MetricDef(
    "ots_visits_completed_total",
    "Visits completed, by venue type and kecamatan",
    ("venue_type", "kecamatan"),
)
SERVICES_DELIVERED = MetricDef(
    "ots_services_delivered_total",
    "Services delivered, by service type, venue type and kecamatan",
    ("service_type", "venue_type", "kecamatan"),
)
RECORDINGS_COMPLETED = MetricDef(
    "ots_recordings_completed_total", "KTP-el recordings completed, by venue type", ("venue_type",)
)
CAPTURES_REJECTED = MetricDef(
    "ots_captures_rejected_total", "Gateway messages refused, by reason", ("reason",)
)
COUNTERS = (
    VISITS_REQUESTED,
    VISITS_SCHEDULED,
    VISITS_UNASSIGNED,
    VISITS_CANCELLED,
    VISITS_COMPLETED,
    SERVICES_DELIVERED,
    RECORDINGS_COMPLETED,
    CAPTURES_REJECTED,
)


@dataclass(frozen=True)
class HistogramDef:
    name: str
    help: str
    label: str
    values: tuple[str, ...]  # the label's values, each shown from the first scrape
    buckets: tuple[float, ...]  # upper bounds; +Inf is implied


REQUEST_TO_COMPLETION = HistogramDef(
    "ots_request_to_completion_seconds",
    "Time from a visit's request to its completion, by priority",
    "priority",
    tuple(p.value for p in Priority),
    (HOUR, 6 * HOUR, DAY, 2 * DAY, 3 * DAY, 5 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 60 * DAY),
)
CAPTURE_QUALITY = HistogramDef(
    "ots_capture_quality",
    "Lowest accepted capture quality (0-100) per completed recording, by modality",
    "modality",
    tuple(m.value for m in Modality),
    (10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0),
)
HISTOGRAMS = (REQUEST_TO_COMPLETION, CAPTURE_QUALITY)

OPEN_STATUSES = (VisitStatus.REQUESTED, VisitStatus.SCHEDULED, VisitStatus.UNASSIGNED)

# The `reason` label's values: the producers' enumerations in contracts/, each shown as itself.
UNASSIGNED_REASONS: tuple[str, ...] = tuple(r.value for r in UnassignedReason)
REJECTION_REASONS: tuple[str, ...] = tuple(r.value for r in RejectionReason)
REASONS_BY_METRIC: dict[str, tuple[str, ...]] = {
    VISITS_UNASSIGNED.name: UNASSIGNED_REASONS,
    CAPTURES_REJECTED.name: REJECTION_REASONS,
}


def bucket_index(buckets: tuple[float, ...], value: float) -> int:
    """The first bucket whose upper bound holds the value; len(buckets) stands for +Inf."""
    return next((i for i, bound in enumerate(buckets) if value <= bound), len(buckets))
