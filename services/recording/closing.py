"""A closed visit is completed once settled, or once its grace period is over.

Gateways flush hours of work in any order, so the close may arrive before captures it
follows. A closed visit waits until nothing is held and everyone seen or expected is recorded
or absent; after `close_grace_seconds` it completes anyway, and captures still held are
rejected as broken chains (their predecessors never came).

A visit no tablet closes is closed by recording itself, at once and without waiting for it
to settle: at the end of its day (WIB) plus `close_after_day_hours`, when an operator asks
(`ots.visit.close-requested`), or when it is cancelled after its team worked it. Residents not
recorded are absent, and the same `ots.visit.completed` follows.
"""

import asyncio
import logging

import asyncpg

from contracts.events import RecordingRejected, VisitCompleted
from contracts.gateway.reasons import Reason
from contracts.jember import WIB
from contracts.subjects import RECORDING_REJECTED, VISIT_COMPLETED
from ots_runtime.supervision import pause
from services.recording.emit import Outgoing, enqueue_all
from services.recording.metrics import count_rejected

log = logging.getLogger(__name__)


CLOSED_AT_DAY_END = "recording:day-end"
CLOSED_BY_OPERATOR = "recording:operator"
CLOSED_ON_CANCELLATION = "recording:cancelled"
WIB_OFFSET_SECONDS = WIB.utcoffset(None).total_seconds()


async def finalize_if_settled(
    conn: asyncpg.Connection, visit_id: str, grace_seconds: float, *, force: bool = False
) -> list[Reason]:
    visit = await conn.fetchrow(
        "SELECT visit_id, team_id, venue_type, kecamatan_code, residents, absent_niks,"
        " closed_at <= now() - make_interval(secs => $2) AS overdue FROM recording.visits"
        " WHERE visit_id = $1 AND closed_at IS NOT NULL AND completed_at IS NULL",
        visit_id, grace_seconds,
    )  # fmt: skip
    if visit is None:
        return []
    held = await conn.fetch(
        "SELECT capture_id, device_id FROM recording.captures WHERE visit_id = $1 AND NOT linked",
        visit_id,
    )
    recorded = {r["nik"] for r in await _people(conn, "people", visit_id)}
    seen = {r["nik"] for r in await _people(conn, "captures", visit_id)}
    seen |= {r["nik"] for r in await _people(conn, "exceptions", visit_id)}
    absent = set(visit["absent_niks"]) | set(visit["residents"])
    settled = not held and (seen | absent) <= recorded | set(visit["absent_niks"])
    if not settled and not visit["overdue"] and not force:
        return []
    await _complete(conn, visit, recorded, absent - recorded, held)
    return [Reason.BROKEN_CHAIN] * len(held)


async def _people(conn: asyncpg.Connection, table: str, visit_id: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT DISTINCT nik FROM recording.{table} WHERE visit_id = $1", visit_id
    )
    return rows


async def _complete(
    conn: asyncpg.Connection,
    visit: asyncpg.Record,
    recorded: set[str],
    absent: set[str],
    held: list[asyncpg.Record],
) -> None:
    services = await conn.fetchval(
        "SELECT coalesce(sum(count), 0) FROM recording.services WHERE visit_id = $1",
        visit["visit_id"],
    )
    await conn.execute(
        "DELETE FROM recording.captures WHERE capture_id = ANY($1::text[])",
        [r["capture_id"] for r in held],
    )
    await conn.execute(
        "UPDATE recording.visits SET completed_at = now() WHERE visit_id = $1", visit["visit_id"]
    )
    completed = VisitCompleted(
        visit_id=visit["visit_id"], team_id=visit["team_id"], venue_type=visit["venue_type"],
        kecamatan_code=visit["kecamatan_code"], people_recorded=len(recorded),
        people_absent=len(absent), services_delivered=len(recorded) + services,
    )  # fmt: skip
    rejections = [
        Outgoing(RECORDING_REJECTED, RecordingRejected(capture_id=r["capture_id"],
                 device_id=r["device_id"], reason=Reason.BROKEN_CHAIN.value), r["capture_id"])
        for r in held
    ]  # fmt: skip
    await enqueue_all(conn, [*rejections, Outgoing(VISIT_COMPLETED, completed, visit["visit_id"])])


async def sweep_overdue(pool: asyncpg.Pool, grace_seconds: float) -> int:
    """Complete every closed visit whose grace period is over; return how many."""
    async with pool.acquire() as conn, conn.transaction():
        due = await conn.fetch(
            "SELECT visit_id FROM recording.visits WHERE completed_at IS NULL"
            " AND closed_at <= now() - make_interval(secs => $1)"
            " ORDER BY visit_id FOR UPDATE SKIP LOCKED",
            grace_seconds,
        )
        rejections = [
            reason
            for row in due
            for reason in await finalize_if_settled(conn, row["visit_id"], grace_seconds)
        ]
    count_rejected(rejections)
    return len(due)


async def close_now(conn: asyncpg.Connection, visit_id: str, closed_by: str) -> list[Reason] | None:
    """Close and complete a visit no tablet closed, inside the caller's transaction: residents
    not recorded are absent, captures still held are broken chains. None if there is nothing to
    complete: unknown, already completed, or never planned for a team (nobody to credit)."""
    visit = await conn.fetchrow(
        "SELECT team_id IS NOT NULL AND venue_type IS NOT NULL AND kecamatan_code IS NOT NULL"
        " AS plannable FROM recording.visits WHERE visit_id = $1 AND completed_at IS NULL"
        " FOR UPDATE",
        visit_id,
    )
    if visit is None or not visit["plannable"]:
        return None
    await conn.execute(
        "UPDATE recording.visits SET closed_at = coalesce(closed_at, now()),"
        " closed_by = coalesce(closed_by, $2) WHERE visit_id = $1",
        visit_id, closed_by,
    )  # fmt: skip
    return await finalize_if_settled(conn, visit_id, 0.0, force=True)


# The last visit day whose end (the next midnight, in UTC shifted by $1 seconds) is past: a
# bound on visit_date alone, so that the partial index `visits_open_by_day` serves the sweep.
LAST_ENDED_DAY = "((now() - make_interval(secs => $1)) AT TIME ZONE 'UTC')::date - 1"


async def close_overdue_days(pool: asyncpg.Pool, after_day_seconds: float) -> int:
    """Close every open visit whose day (WIB) ended `after_day_seconds` ago; return how many.
    Cancelled visits are left alone: one its team worked was completed when it was cancelled."""
    async with pool.acquire() as conn, conn.transaction():
        due = await conn.fetch(
            "SELECT visit_id FROM recording.visits WHERE completed_at IS NULL"
            " AND closed_at IS NULL AND NOT cancelled AND team_id IS NOT NULL"
            f" AND visit_date <= {LAST_ENDED_DAY} ORDER BY visit_id FOR UPDATE SKIP LOCKED",
            after_day_seconds - WIB_OFFSET_SECONDS,  # midnight WIB is 17:00 UTC the day before
        )
        rejections: list[Reason] = []
        closed = 0
        for row in due:
            outcome = await close_now(conn, row["visit_id"], CLOSED_AT_DAY_END)
            if outcome is not None:
                closed += 1
                rejections.extend(outcome)
    count_rejected(rejections)
    if closed:
        log.info("closed %d visit(s) whose day ended without a close from their tablet", closed)
    return closed


async def run_sweeper(
    pool: asyncpg.Pool,
    grace: float,
    every: float,
    stop: asyncio.Event,
    after_day_seconds: float,
) -> None:
    while not stop.is_set():
        try:
            await sweep_overdue(pool, grace)
            await close_overdue_days(pool, after_day_seconds)
        except Exception:
            log.exception("sweeping closed visits failed; trying again")
        await pause(stop, every)
