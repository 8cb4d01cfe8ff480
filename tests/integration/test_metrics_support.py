"""A day of OTS business events with the counts they must give (helpers; no tests here)."""

import asyncio
import itertools
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from nats.aio.client import Client
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel

from contracts import envelope
from contracts import events as ev
from contracts import subjects as s
from contracts.enums import RejectionReason, UnassignedReason
from services.metrics.consumer import CONSUMER

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
NIKS = [f"35092152034800{i:02d}" for i in range(1, 41)]
VENUES = ["home", "school", "pesantren", "car_free_day"]
KECAMATAN = ["350921", "350919", "350901"]
PRIORITIES = ["urgent", "high", "normal"]
TEAMS = ["team-01", "team-02"]
UNASSIGNED = [reason.value for reason in UnassignedReason]
_ids = itertools.count(1)


@dataclass(frozen=True)
class Sent:
    subject: str
    body: bytes
    event_id: str


@dataclass
class Day:
    """Events, and what a correct aggregation of them says, counted independently."""

    events: list[Sent] = field(default_factory=list)
    expected: Counter[tuple[str, tuple[str, ...]]] = field(default_factory=Counter)
    waited: dict[str, list[float]] = field(default_factory=dict)
    open_visits: Counter[str] = field(default_factory=Counter)

    def add(self, spec: s.EventSpec, data: BaseModel, at: datetime) -> None:
        built = envelope(data, type_=spec.type, source="ots/test", subject=None)
        built = built.model_copy(update={"time": at})
        self.events.append(Sent(spec.subject(), built.model_dump_json().encode(), built.id))

    def expect(self, name: str, *labels: str, by: int = 1) -> None:
        self.expected[(name, labels)] += by


def _requested(visit_id: str, venue: str, kec: str, priority: str) -> ev.VisitRequested:
    return ev.VisitRequested.model_validate({
        "visit_id": visit_id,
        "requester": {"agency_type": "dinsos", "agency_name": "Dinas Sosial"},
        "venue": {"type": venue, "name": "Tempat", "kecamatan_code": kec,
                  "lat": -8.17, "lon": 113.7},
        "services": ["ktp_el_recording"],
        "residents": [{"nik": NIKS[next(_ids) % len(NIKS)], "name": "Siti Aminah"}],
        "expected_people": 1, "priority": priority,
        "window": {"earliest": "2026-03-03", "latest": "2026-03-10"},
    })  # fmt: skip


def _visit(day: Day, n: int, rng: random.Random) -> None:
    visit_id = f"visit-{next(_ids)}"
    venue, kec, priority = rng.choice(VENUES), rng.choice(KECAMATAN), rng.choice(PRIORITIES)
    requested_at = START + timedelta(hours=n)
    day.add(s.VISIT_REQUESTED, _requested(visit_id, venue, kec, priority), requested_at)
    day.expect("ots_visits_requested_total", venue, kec, priority)
    fate = n % 5
    if fate == 0:
        day.open_visits["requested"] += 1
        return
    if fate == 1:
        day.add(s.VISIT_CANCELLED, ev.VisitCancelled(visit_id=visit_id, reason="moved"),
                requested_at + timedelta(hours=2))  # fmt: skip
        day.expect("ots_visits_cancelled_total")
        return
    team = TEAMS[n % 2]
    for revision in (1, 2):
        day.add(s.VISIT_SCHEDULED, ev.VisitScheduled(
            visit_id=visit_id, team_id=team, date=date(2026, 3, 4), eta=START,
            service_minutes=30, plan_revision=revision), requested_at + timedelta(hours=revision))  # fmt: skip
        day.expect("ots_visits_scheduled_total", team)
    if fate == 2:
        day.add(s.VISIT_UNASSIGNED, ev.VisitUnassigned(
            visit_id=visit_id, reason=UNASSIGNED[n % len(UNASSIGNED)], plan_revision=3),
            requested_at + timedelta(hours=3))  # fmt: skip
        day.expect("ots_visits_unassigned_total", UNASSIGNED[n % len(UNASSIGNED)])
        day.open_visits["unassigned"] += 1
        return
    if fate == 3:
        day.open_visits["scheduled"] += 1
        return
    waited = timedelta(days=n % 4 + 1)
    day.waited.setdefault(priority, []).append(waited.total_seconds())
    _completed(day, visit_id, team, venue, kec, requested_at + waited)


def _completed(day: Day, visit_id: str, team: str, venue: str, kec: str, at: datetime) -> None:
    day.add(s.VISIT_COMPLETED, ev.VisitCompleted(
        visit_id=visit_id, team_id=team, venue_type=venue, kecamatan_code=kec,
        people_recorded=1, people_absent=0, services_delivered=2), at)  # fmt: skip
    day.expect("ots_visits_completed_total", venue, kec)
    day.add(s.RECORDING_COMPLETED, ev.RecordingCompleted.model_validate({
        "visit_id": visit_id, "nik": NIKS[0], "team_id": team, "venue_type": venue,
        "kecamatan_code": kec, "modalities": ["finger", "iris", "face"],
        "quality": {"finger": 64, "iris": 81, "face": 90}}), at)  # fmt: skip
    day.expect("ots_recordings_completed_total", venue)
    for modality in ("finger", "iris", "face"):
        day.expect("ots_capture_quality_count", modality)
    day.add(s.SERVICE_DELIVERED, ev.ServiceDelivered(
        service_id=f"svc-{next(_ids)}", visit_id=visit_id, service_type="kk", count=2,
        venue_type=venue, kecamatan_code=kec, team_id=team), at)  # fmt: skip
    day.expect("ots_services_delivered_total", "kk", venue, kec, by=2)


def a_day(visits: int = 30, seed: int = 7) -> Day:
    day, rng = Day(), random.Random(seed)
    for n in range(visits):
        _visit(day, n, rng)
    for reason in RejectionReason:  # each counted as itself, never as `other`
        day.add(s.RECORDING_REJECTED, ev.RecordingRejected(
            capture_id=f"cap-{next(_ids)}", device_id="gw-team01-01", reason=reason), START)  # fmt: skip
        day.expect("ots_captures_rejected_total", reason.value)
    return day


async def publish_shuffled(nc: Client, events: list[Sent], seed: int = 1) -> None:
    """Every event twice, the second with a transport id JetStream cannot dedupe, shuffled."""
    deliveries = [(e, e.event_id) for e in events] + [(e, f"again-{e.event_id}") for e in events]
    random.Random(seed).shuffle(deliveries)
    js = nc.jetstream()
    for sent, msg_id in deliveries:
        await js.publish(sent.subject, sent.body, headers={"Nats-Msg-Id": msg_id})


async def drained(nc: Client, within: float = 20.0) -> None:
    """Until the metrics consumer has acknowledged everything published so far."""
    js = nc.jetstream()
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        info = await js.consumer_info(CONSUMER.stream, CONSUMER.durable)
        if not info.num_pending and not info.num_ack_pending:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"metrics consumer still behind: {info}")


def samples(text: str) -> dict[tuple[str, tuple[str, ...]], float]:
    """Every sample of an exposition, keyed by name and label values in label-name order."""
    found: dict[tuple[str, tuple[str, ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(v for k, v in sorted(sample.labels.items()))
            found[(sample.name, labels)] = sample.value
    return found


def expected_samples(day: Day) -> dict[tuple[str, tuple[str, ...]], float]:
    """The expectation keyed like `samples`: label values in label-name order."""
    order = {
        "ots_visits_requested_total": (1, 2, 0),  # kecamatan, priority, venue_type
        "ots_services_delivered_total": (2, 0, 1),  # kecamatan, service_type, venue_type
        "ots_visits_completed_total": (1, 0),  # kecamatan, venue_type
    }
    result: dict[tuple[str, tuple[str, ...]], float] = {}
    for (name, labels), value in day.expected.items():
        positions = order.get(name, tuple(range(len(labels))))
        result[(name, tuple(labels[i] for i in positions))] = value
    return result
