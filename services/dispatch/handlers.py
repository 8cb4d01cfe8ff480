"""Consumers: record teams and visits in dispatch's view and mark the plan dirty.

Planning never runs here: a background planner picks the change up, debounced.
"""

import asyncpg

from contracts import CloudEvent
from contracts.events import TeamUpdated, VisitCancelled, VisitCompleted, VisitRequested
from contracts.subjects import TEAM_UPDATED, VISIT_CANCELLED, VISIT_COMPLETED, VISIT_REQUESTED
from ots_runtime.broker import ConsumerSpec
from ots_runtime.consumer import Handler
from services.dispatch.store import SCHEMA

DIRTY_CHANNEL = "dispatch_dirty"
CONSUMER = ConsumerSpec(
    durable="dispatch-view",
    stream="OTS_EVENTS",
    filter_subjects=tuple(
        s.pattern for s in (TEAM_UPDATED, VISIT_REQUESTED, VISIT_CANCELLED, VISIT_COMPLETED)
    ),
)


async def mark_dirty(conn: asyncpg.Connection) -> None:
    await conn.execute(
        f"UPDATE {SCHEMA}.planning SET dirty_version = dirty_version + 1, changed_at = now()"
    )
    await conn.execute(f"NOTIFY {DIRTY_CHANNEL}")


async def on_team_updated(conn: asyncpg.Connection, event: CloudEvent[TeamUpdated]) -> None:
    """Keep the newest version: an older update arriving late changes nothing. Equal versions
    (unversioned events, all 0) still replace, as before versions."""
    status = await conn.execute(
        f"INSERT INTO {SCHEMA}.teams AS t (team_id, body, version) VALUES ($1, $2, $3) "
        "ON CONFLICT (team_id) DO UPDATE SET body = EXCLUDED.body, version = EXCLUDED.version, "
        "updated_at = now() WHERE t.version <= EXCLUDED.version",
        event.data.team_id,
        event.data.model_dump_json(),
        event.data.version,
    )
    if status != "INSERT 0 0":
        await mark_dirty(conn)


async def on_visit_requested(conn: asyncpg.Connection, event: CloudEvent[VisitRequested]) -> None:
    await conn.execute(
        f"INSERT INTO {SCHEMA}.visits (visit_id, body) VALUES ($1, $2) "
        "ON CONFLICT (visit_id) DO UPDATE SET body = EXCLUDED.body",
        event.data.visit_id,
        event.data.model_dump_json(),
    )
    await mark_dirty(conn)


async def _close(conn: asyncpg.Connection, visit_id: str, state: str) -> None:
    """Close the visit. Completion is final: a cancellation that crossed it, arriving before or
    after, leaves it completed (as intake's status does). A request never reopens a visit."""
    await conn.execute(
        f"INSERT INTO {SCHEMA}.visits AS v (visit_id, state) VALUES ($1, $2) "
        "ON CONFLICT (visit_id) DO UPDATE SET state = EXCLUDED.state, updated_at = now() "
        "WHERE v.state <> 'completed'",
        visit_id,
        state,
    )
    await mark_dirty(conn)


async def on_visit_cancelled(conn: asyncpg.Connection, event: CloudEvent[VisitCancelled]) -> None:
    await _close(conn, event.data.visit_id, "cancelled")


async def on_visit_completed(conn: asyncpg.Connection, event: CloudEvent[VisitCompleted]) -> None:
    await _close(conn, event.data.visit_id, "completed")


HANDLERS: list[Handler] = [
    Handler(TEAM_UPDATED, on_team_updated),
    Handler(VISIT_REQUESTED, on_visit_requested),
    Handler(VISIT_CANCELLED, on_visit_cancelled),
    Handler(VISIT_COMPLETED, on_visit_completed),
]
