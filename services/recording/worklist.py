"""Each device's worklist: its team's stops today and tomorrow (WIB), with each visit's venue,
services and residents, and nothing once the visit is completed, cancelled, reassigned or
unassigned. The publisher (`views.py`) writes it to the OTS_WORKLIST bucket.

It reads recording's one projection of the visits and devices (`recording.visits`,
`recording.devices`, kept by `events.py` with their guards: the newest plan revision decides a
visit's team and whether it is unassigned, the newest enrolment by event time a device's team
and revocation, cancelled and completed are final), the very rows the gateway consumer judges
captures by: a visit is on a tablet's worklist exactly when that team may record at it. Of its
own it keeps only the routes (`worklist_routes`, from `ots.route.planned`). A change marks the
views of the devices it may concern, in the transaction that applied it.

A stop is listed when its route is the team's newest for that day, its visit is known (from
`ots.visit.requested`), neither cancelled nor completed, and neither scheduled for another team
nor unassigned by a newer plan.
"""

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from contracts import CloudEvent
from contracts.events import RoutePlanned, VisitCompleted, Worklist, WorklistDay, WorklistStop
from contracts.jember import WIB

BUCKET = "worklist"


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
        "SELECT device_id FROM recording.devices WHERE team_id = ANY($1::text[])", teams
    )
    await touch(conn, BUCKET, (r["device_id"] for r in rows))


async def teams_of_visit(conn: asyncpg.Connection, visit_id: str) -> list[str]:
    """The teams whose worklists may show the visit: its routes' and its plan's."""
    rows = await conn.fetch(
        "SELECT team_id FROM recording.worklist_routes WHERE stops @> $1::jsonb"
        " UNION SELECT team_id FROM recording.visits WHERE visit_id = $2",
        json.dumps([{"visit_id": visit_id}]), visit_id,
    )  # fmt: skip
    return [r["team_id"] for r in rows if r["team_id"]]


async def on_visit_completed(conn: asyncpg.Connection, event: CloudEvent[VisitCompleted]) -> None:
    """Recording's own event, published once `completed_at` was committed (by the gateway
    consumer, the close sweeper or `events.py`): the worklists showing the visit drop it."""
    await touch_teams(conn, await teams_of_visit(conn, event.data.visit_id))


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


def days_shown(now: datetime | None = None) -> tuple[date, date]:
    today = (now or datetime.now(UTC)).astimezone(WIB).date()
    return today, today + timedelta(days=1)


async def build(
    conn: asyncpg.Connection, device_id: str, version: int, now: datetime | None = None
) -> Worklist | None:
    """The device's worklist now; None for a device recording has not heard of."""
    device = await conn.fetchrow(
        "SELECT team_id, revoked FROM recording.devices WHERE device_id = $1", device_id
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
            "SELECT visit_id, details, team_id, unassigned,"
            " cancelled OR completed_at IS NOT NULL AS done FROM recording.visits"
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
