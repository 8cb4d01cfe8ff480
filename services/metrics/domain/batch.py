"""Events folded into additive deltas: the order of events within and across batches is moot.

This is the edge where personal data is dropped: only label values, counts and times are
taken from an event; a NIK or a name is never read.
"""

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from contracts import events as ev
from contracts.enums import VisitStatus
from contracts.jember import WIB
from services.metrics.domain import catalogue as cat
from services.metrics.domain.visits import Decision, VisitFacts, merge

SeriesKey = tuple[str, tuple[str, ...]]
ServiceKey = tuple[int, str, str, str]  # year, service type, venue type, kecamatan code


@dataclass(frozen=True, order=True)
class RoutePlan:
    revision: int
    planned_minutes: int


@dataclass(frozen=True, order=True)
class TeamShift:
    """The highest version wins; unversioned updates (version 0) fall back on the event time."""

    version: int
    updated_at: datetime
    shift_minutes: int


def le_label(bound: float) -> str:
    return "+Inf" if bound == float("inf") else str(float(bound))


def minutes_of(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


@dataclass
class Batch:
    counters: defaultdict[SeriesKey, float] = field(default_factory=lambda: defaultdict(float))
    services: Counter[ServiceKey] = field(default_factory=Counter)
    visits: dict[str, VisitFacts] = field(default_factory=dict)
    routes: dict[tuple[str, date], RoutePlan] = field(default_factory=dict)
    shifts: dict[str, TeamShift] = field(default_factory=dict)

    def count(self, metric: cat.MetricDef, *labels: str, by: float = 1) -> None:
        self.counters[(metric.name, labels)] += by

    def observe(self, histogram: cat.HistogramDef, label: str, value: float) -> None:
        bounds = (*histogram.buckets, float("inf"))
        le = le_label(bounds[cat.bucket_index(histogram.buckets, value)])
        self.counters[(f"{histogram.name}_bucket", (label, le))] += 1
        self.counters[(f"{histogram.name}_sum", (label,))] += value
        self.counters[(f"{histogram.name}_count", (label,))] += 1

    def learn(self, visit_id: str, facts: VisitFacts) -> None:
        known = self.visits.get(visit_id)
        self.visits[visit_id] = merge(known, facts) if known else facts

    def add(self, time: datetime, data: BaseModel) -> None:
        handler = _HANDLERS.get(type(data))
        if handler is not None:
            handler(self, time, data)


def _requested(b: Batch, time: datetime, d: ev.VisitRequested) -> None:
    b.count(cat.VISITS_REQUESTED, d.venue.type, d.venue.kecamatan_code, d.priority)
    b.learn(d.visit_id, VisitFacts(priority=d.priority.value, requested_at=time))


def _scheduled(b: Batch, time: datetime, d: ev.VisitScheduled) -> None:
    b.count(cat.VISITS_SCHEDULED, d.team_id)
    decision = Decision(d.plan_revision, time, VisitStatus.SCHEDULED)
    b.learn(d.visit_id, VisitFacts(decision=decision))


def _unassigned(b: Batch, time: datetime, d: ev.VisitUnassigned) -> None:
    b.count(cat.VISITS_UNASSIGNED, d.reason.value)
    decision = Decision(d.plan_revision, time, VisitStatus.UNASSIGNED)
    b.learn(d.visit_id, VisitFacts(decision=decision))


def _cancelled(b: Batch, time: datetime, d: ev.VisitCancelled) -> None:
    b.count(cat.VISITS_CANCELLED)
    b.learn(d.visit_id, VisitFacts(cancelled=True))


def _completed(b: Batch, time: datetime, d: ev.VisitCompleted) -> None:
    where = (d.venue_type.value, d.kecamatan_code)
    b.learn(d.visit_id, VisitFacts(completed_at=time, completed_where=where))


def _recording(b: Batch, time: datetime, d: ev.RecordingCompleted) -> None:
    b.count(cat.RECORDINGS_COMPLETED, d.venue_type)
    for modality, quality in d.quality.items():
        b.observe(cat.CAPTURE_QUALITY, modality, quality)


def _rejected(b: Batch, time: datetime, d: ev.RecordingRejected) -> None:
    b.count(cat.CAPTURES_REJECTED, d.reason.value)


def _service(b: Batch, time: datetime, d: ev.ServiceDelivered) -> None:
    b.count(cat.SERVICES_DELIVERED, d.service_type, d.venue_type, d.kecamatan_code, by=d.count)
    year = time.astimezone(WIB).year
    b.services[(year, d.service_type.value, d.venue_type.value, d.kecamatan_code)] += d.count


def _route(b: Batch, time: datetime, d: ev.RoutePlanned) -> None:
    minutes = sum(stop.service_minutes for stop in d.stops) + d.travel_minutes
    plan, key = RoutePlan(d.plan_revision, minutes), (d.team_id, d.date)
    b.routes[key] = max(plan, b.routes.get(key, plan))


def _team(b: Batch, time: datetime, d: ev.TeamUpdated) -> None:
    minutes = max(0, minutes_of(d.shift.end) - minutes_of(d.shift.start))
    shift = TeamShift(d.version, time, minutes)
    b.shifts[d.team_id] = max(shift, b.shifts.get(d.team_id, shift))


_HANDLERS: dict[type[BaseModel], Callable[[Batch, datetime, Any], None]] = {
    ev.VisitRequested: _requested,
    ev.VisitScheduled: _scheduled,
    ev.VisitUnassigned: _unassigned,
    ev.VisitCancelled: _cancelled,
    ev.VisitCompleted: _completed,
    ev.RecordingCompleted: _recording,
    ev.RecordingRejected: _rejected,
    ev.ServiceDelivered: _service,
    ev.RoutePlanned: _route,
    ev.TeamUpdated: _team,
}
