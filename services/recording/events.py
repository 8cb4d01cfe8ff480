"""What recording keeps from OTS_EVENTS: enrolled devices and the visits it may record at, the
one projection both the gateway consumer's verdicts and the devices' worklists read.

Each handler applies its event and, in the same transaction, marks the worklists it may change
(`worklist.touch`): a tablet's worklist and the verdicts on its captures read the same rows.

A device's revocation keeps the time of the event that revoked it (`revoked_at`): a capture
signed before it still counts.

A visit unassigned from its team no longer takes that team's messages (`not_scheduled`, at
once). A visit cancelled before its team worked it is dropped; one cancelled after keeps what
was recorded and completes with it. An operator's close completes a visit its tablet never
closed.
"""

import base64
import json
import logging

import asyncpg

from contracts import CloudEvent
from contracts.events import (
    DeviceEnrolled,
    VisitCancelled,
    VisitCloseRequested,
    VisitRequested,
    VisitScheduled,
    VisitUnassigned,
)
from contracts.subjects import (
    DEVICE_ENROLLED,
    ROUTE_PLANNED,
    VISIT_CANCELLED,
    VISIT_CLOSE_REQUESTED,
    VISIT_COMPLETED,
    VISIT_REQUESTED,
    VISIT_SCHEDULED,
    VISIT_UNASSIGNED,
)
from ots_runtime.broker import ConsumerSpec
from ots_runtime.consumer import Handler
from services.recording import worklist
from services.recording.closing import CLOSED_BY_OPERATOR, CLOSED_ON_CANCELLATION, close_now
from services.recording.metrics import count_rejected

log = logging.getLogger(__name__)

SUBJECTS = (
    DEVICE_ENROLLED, VISIT_REQUESTED, VISIT_SCHEDULED, VISIT_UNASSIGNED, VISIT_CANCELLED,
    VISIT_CLOSE_REQUESTED, VISIT_COMPLETED, ROUTE_PLANNED,
)  # fmt: skip
CONSUMER = ConsumerSpec(
    durable="recording-events",
    stream="OTS_EVENTS",
    filter_subjects=tuple(s.pattern for s in SUBJECTS),
)


async def on_device_enrolled(conn: asyncpg.Connection, event: CloudEvent[DeviceEnrolled]) -> None:
    d = event.data
    await conn.execute(
        "INSERT INTO recording.devices AS d (device_id, team_id, kind, public_key, expires_at,"
        " revoked, enrolled_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7,"
        " CASE WHEN $6::boolean THEN $7::timestamptz END)"
        " ON CONFLICT (device_id) DO UPDATE SET team_id = excluded.team_id, kind = excluded.kind,"
        " public_key = excluded.public_key, expires_at = excluded.expires_at,"
        " revoked = excluded.revoked, enrolled_at = excluded.enrolled_at,"
        " revoked_at = CASE WHEN excluded.revoked THEN"
        " CASE WHEN d.revoked THEN d.revoked_at ELSE excluded.enrolled_at END END"
        " WHERE d.enrolled_at <= excluded.enrolled_at",
        d.device_id, d.team_id, d.kind.value, base64.b64decode(d.public_key), d.expires_at,
        d.revoked, event.time,
    )  # fmt: skip
    await worklist.touch(conn, worklist.BUCKET, [d.device_id])


async def on_visit_requested(conn: asyncpg.Connection, event: CloudEvent[VisitRequested]) -> None:
    d = event.data
    details = {  # what a tablet is shown of the visit (worklist.py)
        "venue": d.venue.model_dump(mode="json"),
        "services": [s.value for s in d.services],
        "residents": [r.model_dump(mode="json") for r in d.residents],
    }
    await conn.execute(
        "INSERT INTO recording.visits (visit_id, venue_type, kecamatan_code, expected_people,"
        " residents, owner_agency, details) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)"
        " ON CONFLICT (visit_id) DO UPDATE SET venue_type = excluded.venue_type,"
        " kecamatan_code = excluded.kecamatan_code, expected_people = excluded.expected_people,"
        " residents = excluded.residents, owner_agency = excluded.owner_agency,"
        " details = excluded.details",
        d.visit_id, d.venue.type.value, d.venue.kecamatan_code, d.expected_people,
        [r.nik for r in d.residents], d.requester.agency_name, json.dumps(details),
    )  # fmt: skip
    await worklist.touch_teams(conn, await worklist.teams_of_visit(conn, d.visit_id))


async def on_visit_scheduled(conn: asyncpg.Connection, event: CloudEvent[VisitScheduled]) -> None:
    d = event.data
    before = await worklist.teams_of_visit(conn, d.visit_id)
    await conn.execute(
        "INSERT INTO recording.visits AS v (visit_id, team_id, plan_revision, visit_date)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (visit_id) DO UPDATE SET team_id = excluded.team_id,"
        " plan_revision = excluded.plan_revision, visit_date = excluded.visit_date,"
        " unassigned = false WHERE v.plan_revision <= excluded.plan_revision",
        d.visit_id, d.team_id, d.plan_revision, d.date,
    )  # fmt: skip
    await worklist.touch_teams(conn, [*before, d.team_id])


async def on_visit_unassigned(conn: asyncpg.Connection, event: CloudEvent[VisitUnassigned]) -> None:
    """The former team's devices are refused from now on, and it is off every worklist; a later
    plan may give it a team."""
    d = event.data
    before = await worklist.teams_of_visit(conn, d.visit_id)
    await conn.execute(
        "INSERT INTO recording.visits AS v (visit_id, plan_revision, unassigned)"
        " VALUES ($1, $2, true) ON CONFLICT (visit_id) DO UPDATE SET team_id = NULL,"
        " visit_date = NULL, plan_revision = excluded.plan_revision, unassigned = true"
        " WHERE v.plan_revision <= excluded.plan_revision AND v.completed_at IS NULL",
        d.visit_id, d.plan_revision,
    )  # fmt: skip
    await worklist.touch_teams(conn, before)


async def on_visit_cancelled(conn: asyncpg.Connection, event: CloudEvent[VisitCancelled]) -> None:
    """Final, whatever plan comes later: `cancelled` is never set back."""
    visit_id = event.data.visit_id
    await conn.execute(
        "INSERT INTO recording.visits (visit_id, cancelled) VALUES ($1, true)"
        " ON CONFLICT (visit_id) DO UPDATE SET cancelled = true",
        visit_id,
    )
    await worklist.touch_teams(conn, await worklist.teams_of_visit(conn, visit_id))
    if await _worked(conn, visit_id):
        count_rejected(await close_now(conn, visit_id, CLOSED_ON_CANCELLATION))


async def on_visit_close_requested(
    conn: asyncpg.Connection, event: CloudEvent[VisitCloseRequested]
) -> None:
    d = event.data
    cancelled = await conn.fetchval(
        "SELECT cancelled FROM recording.visits WHERE visit_id = $1", d.visit_id
    )
    if cancelled and not await _worked(conn, d.visit_id):
        return
    outcome = await close_now(conn, d.visit_id, CLOSED_BY_OPERATOR)
    if outcome is None:
        log.info("close of visit %s by %s changed nothing", d.visit_id, d.requested_by)
    count_rejected(outcome)


async def _worked(conn: asyncpg.Connection, visit_id: str) -> bool:
    """Whether its team left anything at the visit: a capture, an exception, a service."""
    worked: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT FROM recording.captures WHERE visit_id = $1)"
        " OR EXISTS (SELECT FROM recording.exceptions WHERE visit_id = $1)"
        " OR EXISTS (SELECT FROM recording.services WHERE visit_id = $1)"
        " OR EXISTS (SELECT FROM recording.people WHERE visit_id = $1)",
        visit_id,
    )
    return worked


HANDLERS: list[Handler] = [
    Handler(DEVICE_ENROLLED, on_device_enrolled),
    Handler(VISIT_REQUESTED, on_visit_requested),
    Handler(VISIT_SCHEDULED, on_visit_scheduled),
    Handler(VISIT_UNASSIGNED, on_visit_unassigned),
    Handler(VISIT_CANCELLED, on_visit_cancelled),
    Handler(VISIT_CLOSE_REQUESTED, on_visit_close_requested),
    Handler(VISIT_COMPLETED, worklist.on_visit_completed),
    Handler(ROUTE_PLANNED, worklist.on_route_planned),
]
