"""A folded batch written to the `metrics` schema: a few set-based statements per batch."""

import json
from collections.abc import Mapping

import asyncpg

from contracts.enums import VisitStatus
from services.metrics.domain import catalogue as cat
from services.metrics.domain.batch import Batch, SeriesKey
from services.metrics.domain.visits import Decision, VisitFacts, settle

_VISIT_COLUMNS = (
    "visit_id, priority, requested_at, completed_at, cancelled, decision_status, "
    "decision_revision, decision_at, completion_observed, status"
)


def _facts(row: asyncpg.Record) -> VisitFacts:
    decision = None
    if row["decision_status"] is not None:
        status = VisitStatus(row["decision_status"])
        decision = Decision(row["decision_revision"], row["decision_at"], status)
    return VisitFacts(
        priority=row["priority"], requested_at=row["requested_at"],
        completed_at=row["completed_at"], cancelled=row["cancelled"], decision=decision,
        completion_observed=row["completion_observed"],
    )  # fmt: skip


async def _lock_visits(conn: asyncpg.Connection, ids: list[str]) -> dict[str, VisitFacts]:
    """The stored facts of `ids`, each row locked until the transaction ends.

    Replicas share the consumer, so two batches may hold facts of the same new visit. Rows
    are created first (empty: no facts, NULL status, exactly like no row) so that the lock
    has a row to hold: the second replica's insert waits for the first to commit, and then
    reads its facts. Both statements take rows in the same order, so replicas never deadlock.
    """
    await conn.execute(
        "INSERT INTO metrics.visits (visit_id) SELECT id FROM unnest($1::text[]) AS u(id) "
        "ORDER BY 1 ON CONFLICT (visit_id) DO NOTHING",
        ids,
    )
    rows = await conn.fetch(
        f"SELECT {_VISIT_COLUMNS} FROM metrics.visits WHERE visit_id = ANY($1) "
        "ORDER BY visit_id FOR UPDATE",
        ids,
    )
    return {row["visit_id"]: _facts(row) for row in rows}


async def _settle_visits(conn: asyncpg.Connection, batch: Batch) -> list[tuple[str, VisitFacts]]:
    """Merge the batch's facts into the stored visits, adding what follows from each change."""
    ids = sorted(batch.visits)
    stored = await _lock_visits(conn, ids)
    settled: list[tuple[str, VisitFacts]] = []
    for visit_id in ids:
        result = settle(stored[visit_id], batch.visits[visit_id])  # every id has a row by now
        if result.newly_completed is not None:
            batch.count(cat.VISITS_COMPLETED, *result.newly_completed)
        if result.waited is not None:
            batch.observe(cat.REQUEST_TO_COMPLETION, *result.waited)
        settled.append((visit_id, result.state))
    return settled


async def _write_visits(conn: asyncpg.Connection, visits: list[tuple[str, VisitFacts]]) -> None:
    """One statement for the batch: every row exists and is locked by `_lock_visits`."""
    columns = list(zip(*(
        (visit_id, v.priority, v.requested_at, v.completed_at, v.cancelled,
         v.decision.status.value if v.decision else None,
         v.decision.revision if v.decision else None,
         v.decision.at if v.decision else None, v.completion_observed, v.status.value)
        for visit_id, v in visits
    ), strict=True))  # fmt: skip
    await conn.execute(
        "UPDATE metrics.visits AS v SET priority = u.priority, requested_at = u.requested_at, "
        "completed_at = u.completed_at, cancelled = u.cancelled, "
        "decision_status = u.decision_status, decision_revision = u.decision_revision, "
        "decision_at = u.decision_at, completion_observed = u.completion_observed, "
        "status = u.status "
        "FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], "
        "$5::bool[], $6::text[], $7::bigint[], $8::timestamptz[], $9::bool[], $10::text[]) "
        f"AS u({_VISIT_COLUMNS}) WHERE v.visit_id = u.visit_id",
        *columns,
    )


async def _add_counters(conn: asyncpg.Connection, counters: Mapping[SeriesKey, float]) -> None:
    if not counters:
        return
    keys = sorted(counters)
    await conn.execute(
        "INSERT INTO metrics.counters (metric, labels, value) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::float8[]) "
        "ON CONFLICT (metric, labels) DO UPDATE SET value = counters.value + EXCLUDED.value",
        [metric for metric, _ in keys],
        [json.dumps(labels) for _, labels in keys],
        [float(counters[key]) for key in keys],
    )


async def _add_services(conn: asyncpg.Connection, batch: Batch) -> None:
    if not batch.services:
        return
    keys = sorted(batch.services)
    columns = list(zip(*keys, strict=True))
    await conn.execute(
        "INSERT INTO metrics.service_counts "
        "(year, service_type, venue_type, kecamatan_code, count) "
        "SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::bigint[]) "
        "ON CONFLICT (year, service_type, venue_type, kecamatan_code) "
        "DO UPDATE SET count = service_counts.count + EXCLUDED.count",
        *columns,
        [batch.services[key] for key in keys],
    )


async def _keep_plans(conn: asyncpg.Connection, batch: Batch) -> None:
    if batch.routes:
        await conn.executemany(
            "INSERT INTO metrics.route_plans (team_id, date, plan_revision, planned_minutes) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (team_id, date) DO UPDATE SET "
            "plan_revision = EXCLUDED.plan_revision, planned_minutes = EXCLUDED.planned_minutes "
            "WHERE (route_plans.plan_revision, route_plans.planned_minutes) "
            "< (EXCLUDED.plan_revision, EXCLUDED.planned_minutes)",
            [(t, d, p.revision, p.planned_minutes) for (t, d), p in sorted(batch.routes.items())],
        )
    if batch.shifts:
        await conn.executemany(
            "INSERT INTO metrics.team_shifts (team_id, version, updated_at, shift_minutes) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (team_id) DO UPDATE SET "
            "version = EXCLUDED.version, updated_at = EXCLUDED.updated_at, "
            "shift_minutes = EXCLUDED.shift_minutes "
            "WHERE (team_shifts.version, team_shifts.updated_at, team_shifts.shift_minutes) "
            "< (EXCLUDED.version, EXCLUDED.updated_at, EXCLUDED.shift_minutes)",
            [
                (t, s.version, s.updated_at, s.shift_minutes)
                for t, s in sorted(batch.shifts.items())
            ],
        )


async def apply(conn: asyncpg.Connection, batch: Batch) -> None:
    """Write one folded batch; the caller's transaction makes it all or nothing."""
    visits = await _settle_visits(conn, batch) if batch.visits else []
    if visits:
        await _write_visits(conn, visits)
    await _add_counters(conn, batch.counters)
    await _add_services(conn, batch)
    await _keep_plans(conn, batch)
