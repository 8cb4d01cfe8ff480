"""Pure aggregation rules: order-free merges, bounded labels, buckets, one observation a visit."""

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from contracts import events as ev
from contracts.enums import VisitStatus
from contracts.examples import EXAMPLES, GRANDMOTHER_NIK
from contracts.subjects import RECORDING_COMPLETED, SERVICE_DELIVERED, VISIT_REQUESTED
from services.metrics.domain import catalogue as cat
from services.metrics.domain.batch import Batch
from services.metrics.domain.visits import Decision, VisitFacts, merge, settle

T0 = datetime(2026, 12, 4, 3, tzinfo=UTC)
REQUESTED = VisitFacts(priority="high", requested_at=T0)
SCHEDULED = VisitFacts(decision=Decision(2, T0 + timedelta(hours=1), VisitStatus.SCHEDULED))
UNASSIGNED = VisitFacts(decision=Decision(1, T0 + timedelta(hours=2), VisitStatus.UNASSIGNED))
COMPLETED = VisitFacts(completed_at=T0 + timedelta(days=2), completed_where=("home", "350921"))


def test_a_visit_ends_in_the_same_state_whatever_the_order_of_its_events() -> None:
    facts = [REQUESTED, SCHEDULED, UNASSIGNED, COMPLETED]
    states = set()
    for order in itertools.permutations(facts):
        state = VisitFacts()
        for fact in order:
            state = merge(state, fact)
        states.add(state)
    assert len(states) == 1
    assert states.pop().status is VisitStatus.COMPLETED


def test_a_higher_plan_revision_wins_over_a_later_lower_one() -> None:
    assert merge(SCHEDULED, UNASSIGNED).status is VisitStatus.SCHEDULED


def test_completion_before_the_request_is_observed_once_when_the_request_arrives() -> None:
    first = settle(VisitFacts(), COMPLETED)
    assert first.newly_completed == ("home", "350921") and first.waited is None
    second = settle(first.state, REQUESTED)
    assert second.newly_completed is None
    assert second.waited == ("high", 2 * 86400.0)
    assert settle(second.state, merge(REQUESTED, COMPLETED)).waited is None


def test_a_visit_completed_twice_counts_once() -> None:
    once = settle(VisitFacts(), COMPLETED).state
    assert settle(once, COMPLETED).newly_completed is None


def test_reason_labels_stay_bounded_by_the_contract_enumerations_never_folded() -> None:
    batch = Batch()
    batch.add(T0, ev.RecordingRejected(capture_id="c", device_id="gw", reason="replayed_chain"))
    assert batch.counters == {("ots_captures_rejected_total", ("replayed_chain",)): 1}
    with pytest.raises(ValidationError):  # refused (dead-lettered once), not counted as other
        ev.RecordingRejected(capture_id="c", device_id="gw", reason="visit-2026-000142 failed")


def test_a_value_falls_in_the_first_bucket_that_holds_it() -> None:
    buckets = (10.0, 20.0)
    assert [cat.bucket_index(buckets, v) for v in (0, 10, 10.5, 20, 99)] == [0, 0, 1, 1, 2]


def test_the_fold_keeps_counts_and_times_but_never_a_nik() -> None:
    batch = Batch()
    for spec in (VISIT_REQUESTED, RECORDING_COMPLETED, SERVICE_DELIVERED):
        batch.add(T0, EXAMPLES[spec.pattern])
    assert batch.counters[("ots_visits_requested_total", ("home", "350921", "high"))] == 1
    assert batch.counters[("ots_capture_quality_count", ("finger",))] == 1
    assert batch.services[(2026, "ikd_activation", "home", "350921")] == 1
    assert GRANDMOTHER_NIK not in repr(batch)


def test_a_service_late_on_new_years_eve_in_utc_counts_for_the_new_year_in_jember() -> None:
    batch = Batch()
    batch.add(datetime(2026, 12, 31, 17, 30, tzinfo=UTC), EXAMPLES[SERVICE_DELIVERED.pattern])
    assert [key[0] for key in batch.services] == [2027]


def test_a_later_route_revision_replaces_the_day_plan() -> None:
    batch = Batch()
    route = EXAMPLES["ots.route.planned"]
    batch.add(T0, route.model_copy(update={"plan_revision": 3, "travel_minutes": 10}))
    batch.add(T0, route)  # revision 2
    plan = batch.routes[("team-03", date(2026, 12, 8))]
    assert (plan.revision, plan.planned_minutes) == (3, 60 + 45 + 120 + 10)
