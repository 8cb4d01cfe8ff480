"""Intake's status read model, fed by what dispatch and recording publish."""

from datetime import date, datetime
from typing import Any

import asyncpg

from contracts import CloudEvent
from contracts.enums import VisitStatus
from contracts.events import RecordingCompleted, VisitCompleted, VisitScheduled, VisitUnassigned
from contracts.subjects import (
    RECORDING_COMPLETED,
    VISIT_COMPLETED,
    VISIT_SCHEDULED,
    VISIT_UNASSIGNED,
)
from ots_runtime.broker import ConsumerSpec
from ots_runtime.consumer import Handler
from services.intake.domain.status import VisitState, after_completion, after_plan_decision
from services.intake.recorded import release_if_settled, remember_recording
from services.intake.visits import record_history

CONSUMER = ConsumerSpec(
    durable="intake-status",
    stream="OTS_EVENTS",
    filter_subjects=tuple(
        s.pattern for s in (VISIT_SCHEDULED, VISIT_UNASSIGNED, VISIT_COMPLETED, RECORDING_COMPLETED)
    ),
)


async def _locked_state(conn: asyncpg.Connection, visit_id: str) -> VisitState | None:
    row = await conn.fetchrow(
        "SELECT status, plan_revision FROM intake.visits WHERE visit_id = $1 FOR UPDATE", visit_id
    )
    return VisitState(VisitStatus(row["status"]), row["plan_revision"]) if row else None


async def _history(
    conn: asyncpg.Connection, event: CloudEvent[Any], visit_id: str, **detail: Any
) -> None:
    await record_history(conn, event.id, visit_id, event.type, event.time, detail)


async def _plan_decision(
    conn: asyncpg.Connection,
    event: CloudEvent[Any],
    decided: VisitStatus,
    placement: tuple[str, date, datetime] | None,
    **detail: Any,
) -> None:
    """A `scheduled` (with its team, day and ETA) or an `unassigned` decision of dispatch."""
    visit_id, revision = event.data.visit_id, event.data.plan_revision
    state = await _locked_state(conn, visit_id)
    if state is None:
        return
    new = after_plan_decision(state, decided, revision)
    if new != state:
        team_id, day, eta = placement or (None, None, None)
        await conn.execute(
            "UPDATE intake.visits SET status = $2, plan_revision = $3, team_id = $4, "
            "scheduled_date = $5, eta = $6, updated_at = now() WHERE visit_id = $1",
            visit_id, new.status.value, new.plan_revision, team_id, day, eta,
        )  # fmt: skip
    await _history(conn, event, visit_id, plan_revision=revision, **detail)


async def on_visit_scheduled(conn: asyncpg.Connection, event: CloudEvent[VisitScheduled]) -> None:
    data = event.data
    await _plan_decision(
        conn, event, VisitStatus.SCHEDULED, (data.team_id, data.date, data.eta),
        team_id=data.team_id, date=data.date.isoformat(), eta=data.eta.isoformat(),
    )  # fmt: skip


async def on_visit_unassigned(conn: asyncpg.Connection, event: CloudEvent[VisitUnassigned]) -> None:
    await _plan_decision(conn, event, VisitStatus.UNASSIGNED, None, reason=event.data.reason)


async def on_visit_completed(conn: asyncpg.Connection, event: CloudEvent[VisitCompleted]) -> None:
    data = event.data
    state = await _locked_state(conn, data.visit_id)
    if state is None:
        return
    new = after_completion(state)
    await conn.execute(
        "UPDATE intake.visits SET status = $2, team_id = $3, updated_at = now(), "
        "recordings_awaited = $4 WHERE visit_id = $1",
        data.visit_id, new.status.value, data.team_id, data.people_recorded,
    )  # fmt: skip
    await release_if_settled(conn, data.visit_id)
    await _history(conn, event, data.visit_id, people_recorded=data.people_recorded,
                   people_absent=data.people_absent)  # fmt: skip


async def on_recording_completed(
    conn: asyncpg.Connection, event: CloudEvent[RecordingCompleted]
) -> None:
    visit_id = event.data.visit_id
    await remember_recording(conn, event.data.nik, visit_id, event.time, event.id)
    updated = await conn.execute(
        "UPDATE intake.visits SET people_recorded = people_recorded + 1, updated_at = now() "
        "WHERE visit_id = $1",
        visit_id,
    )
    if updated != "UPDATE 0":
        await _history(conn, event, visit_id)
        await release_if_settled(conn, visit_id)


HANDLERS = [
    Handler(VISIT_SCHEDULED, on_visit_scheduled),
    Handler(VISIT_UNASSIGNED, on_visit_unassigned),
    Handler(VISIT_COMPLETED, on_visit_completed),
    Handler(RECORDING_COMPLETED, on_recording_completed),
]
