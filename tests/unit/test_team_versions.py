"""ots.team.updated carries a version; an event from before versions still parses."""

from datetime import UTC, datetime, timedelta

from contracts import events as ev
from contracts.examples import EXAMPLES
from contracts.subjects import TEAM_UPDATED
from services.metrics.domain.batch import Batch

AT = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def team(version: int, end: str) -> ev.TeamUpdated:
    example = EXAMPLES[TEAM_UPDATED.pattern]
    assert isinstance(example, ev.TeamUpdated)
    return example.model_copy(update={"version": version, "shift": ev.Shift(end=end)})


def test_an_update_published_before_versions_parses_as_version_0() -> None:
    body = EXAMPLES[TEAM_UPDATED.pattern].model_dump(mode="json")
    del body["version"]
    assert ev.TeamUpdated.model_validate(body).version == 0


def test_the_fold_keeps_the_highest_version_whatever_the_order_and_times() -> None:
    newer, older = team(2, "16:00"), team(1, "15:00")
    for events in ([(AT, newer), (AT + timedelta(hours=1), older)],
                   [(AT + timedelta(hours=1), older), (AT, newer)]):  # fmt: skip
        batch = Batch()
        for time, data in events:
            batch.add(time, data)
        kept = batch.shifts[newer.team_id]
        assert (kept.version, kept.shift_minutes) == (2, 8 * 60)
