"""Visit requests: accept, read, list, cancel and close, each change leaving through the outbox."""

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from contracts.enums import VisitStatus
from contracts.events import VisitCancelled, VisitCloseRequested
from contracts.subjects import VISIT_CANCELLED, VISIT_CLOSE_REQUESTED
from ots_runtime.http import Problem, field_problem
from ots_runtime.outbox import enqueue
from services.intake.domain.request import NewVisit
from services.intake.domain.status import TERMINAL, VisitState, can_cancel
from services.intake.masking import history_for_viewer, request_for_viewer
from services.intake.tokens import Principal

SCHEMA = "intake"
SOURCE = "ots/intake"


def body_hash(visit: NewVisit) -> str:
    return hashlib.sha256(visit.model_dump_json().encode()).hexdigest()


def new_visit_id() -> str:
    return f"v-{uuid.uuid4().hex[:20]}"


def owner_of(visit: NewVisit, who: Principal) -> str:
    return who.agency if not who.sees_every_visit else visit.requester.agency_name


def already_open(visit_id: str) -> Problem:
    """Recording a person twice creates a national Duplicate_Record that blocks their card."""
    return Problem(
        409, "Person already in an open request",
        f"a resident of this request is already in open request {visit_id}",
        code="resident_open", conflicting_visit_id=visit_id,
    )  # fmt: skip


async def record_history(
    conn: asyncpg.Connection, event_id: str, visit_id: str, type_: str, time: datetime,
    detail: dict[str, Any],
) -> None:  # fmt: skip
    await conn.execute(
        "INSERT INTO intake.visit_history (event_id, visit_id, type, time, detail) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        event_id, visit_id, type_, time, json.dumps(detail),
    )  # fmt: skip


def visible_clause(who: Principal, param: int) -> tuple[str, list[Any]]:
    if who.sees_every_visit:
        return "TRUE", []
    return f"owner_agency = ${param}", [who.agency]


async def fetch_visit(
    conn: asyncpg.Connection, visit_id: str, who: Principal, *, lock: bool = False
) -> asyncpg.Record:
    clause, args = visible_clause(who, 2)
    row = await conn.fetchrow(
        f"SELECT * FROM intake.visits WHERE visit_id = $1 AND {clause}"
        + (" FOR UPDATE" if lock else ""),
        visit_id,
        *args,
    )
    if row is None:
        raise Problem(404, "Visit not found", f"no visit {visit_id}")
    return row


async def visit_view(conn: asyncpg.Connection, visit_id: str, who: Principal) -> dict[str, Any]:
    row = await fetch_visit(conn, visit_id, who)
    history = await conn.fetch(
        "SELECT type, time, detail FROM intake.visit_history WHERE visit_id = $1 ORDER BY time, type",
        visit_id,
    )
    request = json.loads(row["request"])
    entries = [
        {"type": h["type"], "time": h["time"].isoformat(), **json.loads(h["detail"])}
        for h in history
    ]
    if not who.sees_residents:
        request = request_for_viewer(request)
        entries = [history_for_viewer(entry) for entry in entries]
    return summary(row) | {"request": request, "history": entries}


def summary(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "visit_id": row["visit_id"],
        "status": row["status"],
        "venue_type": row["venue_type"],
        "kecamatan_code": row["kecamatan_code"],
        "priority": row["priority"],
        "team_id": row["team_id"],
        "date": row["scheduled_date"].isoformat() if row["scheduled_date"] else None,
        "eta": row["eta"].isoformat() if row["eta"] else None,
        "people_recorded": row["people_recorded"],
        "created_at": row["created_at"].isoformat(),
    }


async def cancel_visit(
    conn: asyncpg.Connection, visit_id: str, reason: str, who: Principal
) -> dict[str, Any]:
    row = await fetch_visit(conn, visit_id, who, lock=True)
    state = VisitState(VisitStatus(row["status"]), row["plan_revision"])
    if state.status is VisitStatus.CANCELLED:
        return summary(row)
    if not can_cancel(state):
        raise Problem(409, "Visit cannot be cancelled", f"visit {visit_id} is {state.status}")
    await conn.execute(
        "UPDATE intake.visits SET status = 'cancelled', updated_at = now() WHERE visit_id = $1",
        visit_id,
    )
    await conn.execute("DELETE FROM intake.open_residents WHERE visit_id = $1", visit_id)
    event = VisitCancelled(visit_id=visit_id, reason=reason)
    published = await enqueue(
        conn, SCHEMA, VISIT_CANCELLED, event, source=SOURCE, subject_id=visit_id
    )
    await record_history(
        conn, published.id, visit_id, VISIT_CANCELLED.type, published.time, {"reason": reason}
    )
    return summary(row) | {"status": VisitStatus.CANCELLED.value}


async def close_visit(
    conn: asyncpg.Connection, visit_id: str, reason: str, who: Principal
) -> dict[str, Any]:
    """Ask recording to close a scheduled visit its tablet never closed. The status stays
    `scheduled` until recording's `ots.visit.completed` comes back; asking again is harmless."""
    row = await fetch_visit(conn, visit_id, who, lock=True)
    status = VisitStatus(row["status"])
    if status in TERMINAL:
        raise Problem(409, "Visit cannot be closed", f"visit {visit_id} is already {status}")
    if status is not VisitStatus.SCHEDULED:
        raise Problem(
            409, "Visit cannot be closed", f"visit {visit_id} is {status}: no team was sent"
        )
    event = VisitCloseRequested(
        visit_id=visit_id,
        reason=reason,
        requested_by=who.agency or who.role.value,
        at=datetime.now(UTC),
    )
    published = await enqueue(
        conn, SCHEMA, VISIT_CLOSE_REQUESTED, event, source=SOURCE, subject_id=visit_id
    )
    await record_history(
        conn, published.id, visit_id, VISIT_CLOSE_REQUESTED.type, published.time,
        {"reason": reason, "requested_by": event.requested_by},
    )  # fmt: skip
    return summary(row) | {"close_requested": True}


def encode_cursor(created_at: datetime, visit_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{visit_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, visit_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        if not visit_id.isprintable():
            raise ValueError("a visit id has no control characters")
        return datetime.fromisoformat(created), visit_id
    except (ValueError, UnicodeDecodeError) as error:
        raise field_problem(
            "cursor", "unknown cursor", "cursor is not one this API issued"
        ) from error
