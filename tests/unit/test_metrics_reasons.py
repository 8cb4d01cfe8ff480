"""Every reason a producer can give reaches Prometheus as itself, never as `other`.

Each member of the contract's reason enumerations leaves its producer's own code (dispatch's
outbox rows, recording's rejections) as wire bytes, is parsed as the metrics consumer parses
it, folded, and scraped through the collector.
"""

import asyncio
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import asyncpg
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from contracts import events as ev
from contracts.enums import RejectionReason, UnassignedReason
from contracts.gateway import reasons as recording_reasons
from contracts.subjects import RECORDING_REJECTED, VISIT_UNASSIGNED, envelope_model
from ots_runtime.outbox import OutboxRow
from services.dispatch import publishing
from services.dispatch.domain import model as dispatch_model
from services.dispatch.domain.changes import Changes
from services.metrics.adapters.snapshot import Snapshot
from services.metrics.collector import AggregatesCollector
from services.metrics.consumer import fold
from services.metrics.domain import catalogue as cat
from services.recording import emit
from services.recording import feedback as recording_feedback
from services.recording.domain.completeness import Thresholds
from services.recording.domain.sealing import Keyring
from services.recording.gateway.batch import BatchApplier

NOT_A_CONNECTION = cast(asyncpg.Connection, None)
Sample = tuple[str, dict[str, str], float]


@pytest.fixture
def outbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[OutboxRow]]:
    """The rows each producer would write to its outbox, captured instead of written."""
    rows: list[OutboxRow] = []

    async def enqueue_rows(conn: asyncpg.Connection, schema: str, new: list[OutboxRow]) -> None:
        rows.extend(new)

    async def no_feedback(conn: asyncpg.Connection, rows: object) -> None:
        """Recording's devices' feedback, written beside its outbox: not what this looks at."""

    for module in (publishing, emit):
        monkeypatch.setattr(module, "enqueue_rows", enqueue_rows)
    monkeypatch.setattr(recording_feedback, "record", no_feedback)
    yield rows


def dispatch_unassigns(reason: UnassignedReason) -> None:
    changes = Changes([], [], [dispatch_model.Unassigned(f"visit-{reason.value}", reason)])
    asyncio.run(publishing.publish(NOT_A_CONNECTION, changes, revision=1))


def recording_rejects(reason: RejectionReason) -> None:
    applier = BatchApplier(NOT_A_CONNECTION, cast(Keyring, None), Thresholds(), 0.0)
    applier._reject(reason, f"cap-{reason.value}", "gw-team01-01")
    asyncio.run(emit.enqueue_all(NOT_A_CONNECTION, applier.writes.events))


def scraped(rows: list[OutboxRow]) -> list[Sample]:
    """The rows' bytes parsed as the consumer parses them, folded, stored and scraped."""
    events = []
    for row in rows:
        spec = {VISIT_UNASSIGNED.subject(): VISIT_UNASSIGNED}.get(row.subject, RECORDING_REJECTED)
        events.append(envelope_model(spec).model_validate_json(row.body))
    collector = AggregatesCollector()
    collector.snapshot = Snapshot(counters=dict(fold(events).counters))
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    return [
        (s.name, s.labels, s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


def reasons_counted(samples: list[Sample], name: str) -> dict[str, float]:
    return {labels["reason"]: value for n, labels, value in samples if n == name and value}


CASES: list[tuple[Callable[[Any], None], str, Any]] = [
    *((dispatch_unassigns, cat.VISITS_UNASSIGNED.name, r) for r in UnassignedReason),
    *((recording_rejects, cat.CAPTURES_REJECTED.name, r) for r in RejectionReason),
]


@pytest.mark.parametrize(
    ("produce", "metric", "reason"), CASES, ids=[f"{m}-{r.value}" for _, m, r in CASES]
)
def test_every_reason_a_producer_emits_is_exposed_as_itself(
    outbox: list[OutboxRow], produce: Callable[[Any], None], metric: str, reason: Any
) -> None:
    produce(reason)
    assert len(outbox) == 1
    assert reasons_counted(scraped(outbox), metric) == {reason.value: 1.0}


def test_every_reason_is_exposed_at_zero_before_it_happens_and_none_is_other() -> None:
    samples = scraped([])
    for metric, enum in ((cat.VISITS_UNASSIGNED, UnassignedReason),
                         (cat.CAPTURES_REJECTED, RejectionReason)):  # fmt: skip
        exposed = {labels["reason"]: v for n, labels, v in samples if n == metric.name}
        assert exposed == {r.value: 0.0 for r in enum}, metric.name


def test_the_producers_and_the_catalogue_share_the_contract_enumerations() -> None:
    assert dispatch_model.Reason is UnassignedReason
    assert recording_reasons.Reason is RejectionReason
    assert tuple(r.value for r in UnassignedReason) == cat.UNASSIGNED_REASONS
    assert tuple(r.value for r in RejectionReason) == cat.REJECTION_REASONS
    assert {
        cat.VISITS_UNASSIGNED.name: cat.UNASSIGNED_REASONS,
        cat.CAPTURES_REJECTED.name: cat.REJECTION_REASONS,
    } == cat.REASONS_BY_METRIC
    assert "other" not in cat.UNASSIGNED_REASONS + cat.REJECTION_REASONS


def test_a_reason_outside_the_contract_is_refused_at_the_edge() -> None:
    """Not folded into `other`: the message fails validation and is dead-lettered once."""
    with pytest.raises(ValidationError):
        ev.VisitUnassigned.model_validate({"visit_id": "v-1", "reason": "outside_shift"})
    with pytest.raises(ValidationError):
        ev.RecordingRejected.model_validate(
            {"capture_id": "c-1", "device_id": "gw-1", "reason": "cosmic_ray"}
        )


def test_every_value_emitted_before_the_enumerations_is_still_valid() -> None:
    """Typing the field is additive: the strings producers sent before still validate."""
    sent_before: dict[type[ev.Message], list[str]] = {
        ev.VisitUnassigned: ["no_team_with_kit", "no_capacity_in_window", "window_passed",
                             "no_working_day_in_window", "too_large_for_a_team_day",
                             "not_enough_teams", "beyond_horizon", "unroutable"],
        ev.RecordingRejected: ["malformed", "too_large", "unknown_device", "revoked_device",
                               "expired_device", "device_mismatch", "bad_signature",
                               "hash_mismatch", "broken_chain", "replayed_chain",
                               "not_scheduled", "face_not_exceptable"],
    }  # fmt: skip
    ids = {"visit_id": "v-1", "capture_id": "c-1", "device_id": "gw-1"}
    for model, values in sent_before.items():
        for value in values:
            wire = model.model_validate({**ids, "reason": value}).model_dump(mode="json")
            assert wire["reason"] == value


DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
REASON_MATCHER = re.compile(r'\breason\s*(?:=~|!~|!=|=)\s*\\?"([^"\\]*)')


def test_dashboards_and_alerts_name_only_reasons_a_producer_emits() -> None:
    known = {r.value for r in UnassignedReason} | {r.value for r in RejectionReason}
    named = {
        (path.name, value)
        for path in DEPLOY.rglob("*")
        if path.suffix in {".json", ".yml", ".yaml"}
        for match in REASON_MATCHER.finditer(path.read_text())
        for value in match.group(1).split("|")
    }
    assert {(name, value) for name, value in named if value not in known} == set()
