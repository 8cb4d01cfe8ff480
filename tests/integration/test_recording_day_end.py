"""A visit's day ends at the next midnight in Jember (WIB), and the sweep that closes it then
finds it through an index, not by reading every open visit."""

from datetime import UTC, date, datetime, time, timedelta

import asyncpg

from contracts.jember import WIB
from ots.admin import migrate_all
from ots_runtime.settings import Settings
from services.recording.closing import LAST_ENDED_DAY, WIB_OFFSET_SECONDS


def day_ended(visit_date: date, at: datetime, after_hours: float) -> bool:
    """The rule as people say it: the day's next midnight in Jember, plus the hours allowed."""
    next_midnight = datetime.combine(visit_date + timedelta(days=1), time(0), tzinfo=WIB)
    return next_midnight + timedelta(hours=after_hours) <= at


async def test_the_last_ended_day_agrees_with_midnight_in_jember_on_either_side_of_it(
    db: asyncpg.Pool,
) -> None:
    bound_at = LAST_ENDED_DAY.replace("now()", "$2::timestamptz")
    visit_date = date(2026, 12, 2)
    midnight = datetime.combine(visit_date + timedelta(days=1), time(0), tzinfo=WIB)
    for after_hours in (0, 2, 7, 9.5, 30):
        end = midnight + timedelta(hours=after_hours)
        for at in (end - timedelta(seconds=1), end, end + timedelta(seconds=1),
                   end + timedelta(hours=23)):  # fmt: skip
            last = await db.fetchval(
                f"SELECT {bound_at}", after_hours * 3600 - WIB_OFFSET_SECONDS, at.astimezone(UTC)
            )
            assert (visit_date <= last) == day_ended(visit_date, at, after_hours), (after_hours, at)


async def test_the_day_end_sweep_reads_open_visits_through_their_index(
    settings: Settings, db: asyncpg.Pool
) -> None:
    await migrate_all(settings)
    await db.execute(
        "INSERT INTO recording.visits (visit_id, team_id, visit_date, completed_at)"
        " SELECT 'v-' || g, 'team-1', date '2026-01-01' + (g % 300), now()"
        " FROM generate_series(1, 20000) g"
    )  # twenty thousand visits done with, as after a year of work
    await db.execute(
        "INSERT INTO recording.visits (visit_id, team_id, visit_date)"
        " SELECT 'v-ahead-' || g, 'team-1', current_date + 1 + (g % 60)"
        " FROM generate_series(1, 5000) g"
    )  # and the next two months planned ahead, still open
    await db.execute(
        "INSERT INTO recording.visits (visit_id, team_id, visit_date)"
        " VALUES ('v-open', 'team-1', current_date - 2)"
    )
    await db.execute("ANALYZE recording.visits")
    plan = "\n".join(r[0] for r in await db.fetch(
        "EXPLAIN SELECT visit_id FROM recording.visits WHERE completed_at IS NULL"
        " AND closed_at IS NULL AND NOT cancelled AND team_id IS NOT NULL"
        f" AND visit_date <= {LAST_ENDED_DAY}",
        3600.0,
    ))  # fmt: skip
    assert "visits_open_by_day" in plan, plan
    due = await db.fetch(
        "SELECT visit_id FROM recording.visits WHERE completed_at IS NULL"
        f" AND closed_at IS NULL AND visit_date <= {LAST_ENDED_DAY}",
        3600.0,
    )
    assert [r["visit_id"] for r in due] == ["v-open"]
