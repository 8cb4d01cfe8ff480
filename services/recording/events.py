"""What recording keeps from OTS_EVENTS: enrolled devices and the visits it may record at."""

import base64

import asyncpg

from contracts import CloudEvent
from contracts.events import DeviceEnrolled, VisitCancelled, VisitRequested, VisitScheduled
from contracts.subjects import DEVICE_ENROLLED, VISIT_CANCELLED, VISIT_REQUESTED, VISIT_SCHEDULED
from ots_runtime.broker import ConsumerSpec
from ots_runtime.consumer import Handler

CONSUMER = ConsumerSpec(
    durable="recording-events",
    stream="OTS_EVENTS",
    filter_subjects=tuple(
        s.pattern for s in (DEVICE_ENROLLED, VISIT_REQUESTED, VISIT_SCHEDULED, VISIT_CANCELLED)
    ),
)


async def on_device_enrolled(conn: asyncpg.Connection, event: CloudEvent[DeviceEnrolled]) -> None:
    d = event.data
    await conn.execute(
        "INSERT INTO recording.devices AS d (device_id, team_id, kind, public_key, expires_at,"
        " revoked, enrolled_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (device_id) DO UPDATE SET team_id = excluded.team_id, kind = excluded.kind,"
        " public_key = excluded.public_key, expires_at = excluded.expires_at,"
        " revoked = excluded.revoked, enrolled_at = excluded.enrolled_at"
        " WHERE d.enrolled_at <= excluded.enrolled_at",
        d.device_id, d.team_id, d.kind.value, base64.b64decode(d.public_key), d.expires_at,
        d.revoked, event.time,
    )  # fmt: skip


async def on_visit_requested(conn: asyncpg.Connection, event: CloudEvent[VisitRequested]) -> None:
    d = event.data
    await conn.execute(
        "INSERT INTO recording.visits (visit_id, venue_type, kecamatan_code, expected_people,"
        " residents) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (visit_id) DO UPDATE SET"
        " venue_type = excluded.venue_type, kecamatan_code = excluded.kecamatan_code,"
        " expected_people = excluded.expected_people, residents = excluded.residents",
        d.visit_id, d.venue.type.value, d.venue.kecamatan_code, d.expected_people,
        [r.nik for r in d.residents],
    )  # fmt: skip


async def on_visit_scheduled(conn: asyncpg.Connection, event: CloudEvent[VisitScheduled]) -> None:
    d = event.data
    await conn.execute(
        "INSERT INTO recording.visits AS v (visit_id, team_id, plan_revision) VALUES ($1, $2, $3)"
        " ON CONFLICT (visit_id) DO UPDATE SET team_id = excluded.team_id,"
        " plan_revision = excluded.plan_revision WHERE v.plan_revision <= excluded.plan_revision",
        d.visit_id, d.team_id, d.plan_revision,
    )  # fmt: skip


async def on_visit_cancelled(conn: asyncpg.Connection, event: CloudEvent[VisitCancelled]) -> None:
    await conn.execute(
        "INSERT INTO recording.visits (visit_id, cancelled) VALUES ($1, true)"
        " ON CONFLICT (visit_id) DO UPDATE SET cancelled = true",
        event.data.visit_id,
    )


HANDLERS: list[Handler] = [
    Handler(DEVICE_ENROLLED, on_device_enrolled),
    Handler(VISIT_REQUESTED, on_visit_requested),
    Handler(VISIT_SCHEDULED, on_visit_scheduled),
    Handler(VISIT_CANCELLED, on_visit_cancelled),
]
