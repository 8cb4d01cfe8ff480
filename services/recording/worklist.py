"""Each device's worklist, projected from OTS_EVENTS: its team's stops today and tomorrow (WIB),
with each visit's venue, services and residents, and nothing once the visit is completed,
cancelled, reassigned or unassigned. A change marks the views of the devices it may concern; the
publisher (`views.py`) writes them to the OTS_WORKLIST bucket.

A stop is listed when its route is the team's newest for that day, its visit is known (from
`ots.visit.requested`), open, and neither scheduled for another team nor unassigned by a newer
plan. Unassigned is a plan decision like scheduled, not an end: the newest plan revision wins.
A device's team and revocation come from its newest `ots.device.enrolled` (by event time), so
an older one redelivered after a revocation changes nothing.
"""

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from contracts import CloudEvent
from contracts.events import (
    DeviceEnrolled,
    RoutePlanned,
    VisitCancelled,
    VisitCompleted,
    VisitRequested,
    VisitScheduled,
    VisitUnassigned,
    Worklist,
    WorklistDay,
    WorklistStop,
)
from contracts.jember import WIB
from contracts.subjects import (
    DEVICE_ENROLLED,
    ROUTE_PLANNED,
    VISIT_CANCELLED,
    VISIT_COMPLETED,
    VISIT_REQUESTED,
    VISIT_SCHEDULED,
    VISIT_UNASSIGNED,
)
from ots_runtime.broker import ConsumerSpec
from ots_runtime.consumer import Handler

BUCKET = "worklist"
SUBJECTS = (DEVICE_ENROLLED, VISIT_REQUESTED, VISIT_SCHEDULED, VISIT_UNASSIGNED, VISIT_CANCELLED,
            VISIT_COMPLETED, ROUTE_PLANNED)  # fmt: skip
CONSUMER = ConsumerSpec(
    durable="recording-worklist",
    stream="OTS_EVENTS",
    filter_subjects=tuple(s.pattern for s in SUBJECTS),
)


async def touch(conn: asyncpg.Connection, bucket: str, device_ids: Iterable[str]) -> None:
    """The devices' views in `bucket` changed: the publisher writes them again."""
    ids = sorted(set(device_ids))
    if ids:
        await conn.execute(
            "INSERT INTO recording.device_views AS v (device_id, bucket)"
            " SELECT unnest($1::text[]), $2 ON CONFLICT (device_id, bucket)"
            " DO UPDATE SET version = v.version + 1",
            ids, bucket,
        )  # fmt: skip


async def touch_teams(conn: asyncpg.Connection, team_ids: Iterable[str | None]) -> None:
    teams = sorted({t for t in team_ids if t})
    rows = await conn.fetch(
        "SELECT device_id FROM recording.worklist_devices WHERE team_id = ANY($1::text[])", teams
    )
    await touch(conn, BUCKET, (r["device_id"] for r in rows))


async def teams_of_visit(conn: asyncpg.Connection, visit_id: str) -> list[str]:
    rows = await conn.fetch(
        "SELECT team_id FROM recording.worklist_routes WHERE stops @> $1::jsonb"
        " UNION SELECT team_id FROM recording.worklist_visits WHERE visit_id = $2",
        json.dumps([{"visit_id": visit_id}]), visit_id,
    )  # fmt: skip
    return [r["team_id"] for r in rows if r["team_id"]]


async def on_device_enrolled(conn: asyncpg.Connection, event: CloudEvent[DeviceEnrolled]) -> None:
    d = event.data
    await conn.execute(
        "INSERT INTO recording.worklist_devices AS w (device_id, team_id, revoked, enrolled_at)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (device_id) DO UPDATE SET team_id = excluded.team_id,"
        " revoked = excluded.revoked, enrolled_at = excluded.enrolled_at"
        " WHERE w.enrolled_at IS NULL OR w.enrolled_at <= excluded.enrolled_at",
        d.device_id, d.team_id, d.revoked, event.time,
    )  # fmt: skip
    await touch(conn, BUCKET, [d.device_id])


async def on_visit_requested(conn: asyncpg.Connection, event: CloudEvent[VisitRequested]) -> None:
    d = event.data
    details = {
        "venue": d.venue.model_dump(mode="json"),
        "services": [s.value for s in d.services],
        "residents": [r.model_dump(mode="json") for r in d.residents],
    }
    await conn.execute(
        "INSERT INTO recording.worklist_visits (visit_id, details) VALUES ($1, $2::jsonb)"
        " ON CONFLICT (visit_id) DO UPDATE SET details = excluded.details",
        d.visit_id, json.dumps(details),
    )  # fmt: skip
    await touch_teams(conn, await teams_of_visit(conn, d.visit_id))


async def on_visit_scheduled(conn: asyncpg.Connection, event: CloudEvent[VisitScheduled]) -> None:
    d = event.data
    before = await teams_of_visit(conn, d.visit_id)
    await conn.execute(
        "INSERT INTO recording.worklist_visits AS v (visit_id, team_id, plan_revision)"
        " VALUES ($1, $2, $3) ON CONFLICT (visit_id) DO UPDATE SET team_id = excluded.team_id,"
        " plan_revision = excluded.plan_revision, unassigned = false"
        " WHERE v.plan_revision IS NULL OR v.plan_revision <= excluded.plan_revision",
        d.visit_id, d.team_id, d.plan_revision,
    )  # fmt: skip
    await touch_teams(conn, [*before, d.team_id])


async def on_visit_unassigned(conn: asyncpg.Connection, event: CloudEvent[VisitUnassigned]) -> None:
    """Off every worklist until a newer plan schedules it again."""
    d = event.data
    before = await teams_of_visit(conn, d.visit_id)
    await conn.execute(
        "INSERT INTO recording.worklist_visits AS v (visit_id, plan_revision, unassigned)"
        " VALUES ($1, $2, true) ON CONFLICT (visit_id) DO UPDATE SET team_id = NULL,"
        " plan_revision = excluded.plan_revision, unassigned = true"
        " WHERE v.plan_revision IS NULL OR v.plan_revision <= excluded.plan_revision",
        d.visit_id, d.plan_revision,
    )  # fmt: skip
    await touch_teams(conn, before)


async def _done(conn: asyncpg.Connection, visit_id: str) -> None:
    """Cancelled or completed: final, whatever plan comes later."""
    await conn.execute(
        "INSERT INTO recording.worklist_visits (visit_id, done) VALUES ($1, true)"
        " ON CONFLICT (visit_id) DO UPDATE SET done = true",
        visit_id,
    )
    await touch_teams(conn, await teams_of_visit(conn, visit_id))


async def on_visit_cancelled(conn: asyncpg.Connection, event: CloudEvent[VisitCancelled]) -> None:
    await _done(conn, event.data.visit_id)


async def on_visit_completed(conn: asyncpg.Connection, event: CloudEvent[VisitCompleted]) -> None:
    await _done(conn, event.data.visit_id)


async def on_route_planned(conn: asyncpg.Connection, event: CloudEvent[RoutePlanned]) -> None:
    d = event.data
    stops = [s.model_dump(mode="json") for s in d.stops]
    await conn.execute(
        "INSERT INTO recording.worklist_routes AS r VALUES ($1, $2, $3, $4::jsonb)"
        " ON CONFLICT (team_id, route_date) DO UPDATE SET plan_revision = excluded.plan_revision,"
        " stops = excluded.stops WHERE r.plan_revision <= excluded.plan_revision",
        d.team_id, d.date, d.plan_revision, json.dumps(stops),
    )  # fmt: skip
    await touch_teams(conn, [d.team_id])


HANDLERS: list[Handler] = [
    Handler(DEVICE_ENROLLED, on_device_enrolled),
    Handler(VISIT_REQUESTED, on_visit_requested),
    Handler(VISIT_SCHEDULED, on_visit_scheduled),
    Handler(VISIT_UNASSIGNED, on_visit_unassigned),
    Handler(VISIT_CANCELLED, on_visit_cancelled),
    Handler(VISIT_COMPLETED, on_visit_completed),
    Handler(ROUTE_PLANNED, on_route_planned),
]


def days_shown(now: datetime | None = None) -> tuple[date, date]:
    today = (now or datetime.now(UTC)).astimezone(WIB).date()
    return today, today + timedelta(days=1)


async def build(
    conn: asyncpg.Connection, device_id: str, version: int, now: datetime | None = None
) -> Worklist | None:
    """The device's worklist now; None for a device recording has not heard of."""
    device = await conn.fetchrow(
        "SELECT team_id, revoked FROM recording.worklist_devices WHERE device_id = $1", device_id
    )
    if device is None:
        return None
    team_id, days = device["team_id"], []
    if not device["revoked"]:
        routes = await conn.fetch(
            "SELECT route_date, plan_revision, stops FROM recording.worklist_routes"
            " WHERE team_id = $1 AND route_date = ANY($2::date[]) ORDER BY route_date",
            team_id, list(days_shown(now)),
        )  # fmt: skip
        stops = [s for r in routes for s in json.loads(r["stops"])]
        visits = {r["visit_id"]: r for r in await conn.fetch(
            "SELECT visit_id, details, team_id, done, unassigned FROM recording.worklist_visits"
            " WHERE visit_id = ANY($1::text[])", [s["visit_id"] for s in stops],
        )}  # fmt: skip
        days = [_day(r, team_id, visits) for r in routes]
    return Worklist(device_id=device_id, team_id=team_id, version=version,
                    updated_at=now or datetime.now(UTC), days=days)  # fmt: skip


def _day(route: asyncpg.Record, team_id: str, visits: dict[str, Any]) -> WorklistDay:
    stops = []
    for stop in json.loads(route["stops"]):
        visit = visits.get(stop["visit_id"])
        if visit is None or visit["details"] is None or visit["done"] or visit["unassigned"]:
            continue
        if visit["team_id"] not in (None, team_id):
            continue  # reassigned since this route was planned
        details = json.loads(visit["details"])
        stops.append(WorklistStop(
            visit_id=stop["visit_id"], eta=stop["eta"], service_minutes=stop["service_minutes"],
            venue=details["venue"], services=details["services"], residents=details["residents"],
        ))  # fmt: skip
    return WorklistDay(date=route["route_date"], plan_revision=route["plan_revision"], stops=stops)
