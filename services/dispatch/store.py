"""Dispatch's schema: the view the planner reads, and what a plan announces."""

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from contracts.events import TeamUpdated, VisitRequested
from services.dispatch.domain.changes import Changes
from services.dispatch.domain.model import Assignment, Route, Stop, Team, Visit

SCHEMA = "dispatch"


@dataclass(frozen=True)
class View:
    teams: list[Team]
    visits: list[Visit]
    announced: dict[str, Assignment]
    routes: dict[tuple[str, date], Route]
    reasons: dict[str, str]


def route_body(route: Route) -> str:
    stops = [{"visit_id": s.visit_id, "eta": s.eta.isoformat(), "service_minutes":
              s.service_minutes, "travel_minutes": s.travel_minutes, "people": s.people}
             for s in route.stops]  # fmt: skip
    return json.dumps({"stops": stops, "travel_minutes": route.travel_minutes,
                       "distance_km": route.distance_km})  # fmt: skip


def route_from_row(row: asyncpg.Record) -> Route:
    body: dict[str, Any] = json.loads(row["body"])
    stops = tuple(Stop(s["visit_id"], datetime.fromisoformat(s["eta"]), s["service_minutes"], s["travel_minutes"],
                       s.get("people", 0)) for s in body["stops"])  # fmt: skip
    return Route(row["team_id"], row["day"], stops, body["travel_minutes"], body["distance_km"])


async def dirty_version(conn: asyncpg.Connection) -> int | None:
    """The view's version if it changed since the last recorded plan, else None.

    Read before the view itself: whatever a handler commits afterwards bumps the version past
    this one, so recording this version as planned never hides a change the plan did not see.
    """
    row = await conn.fetchrow(f"SELECT dirty_version, planned_version FROM {SCHEMA}.planning")
    if row["dirty_version"] == row["planned_version"]:
        return None
    return int(row["dirty_version"])


async def load_view(conn: asyncpg.Connection, today: date) -> View:
    teams = [Team.from_event(TeamUpdated.model_validate_json(r["body"]))
             for r in await conn.fetch(f"SELECT body FROM {SCHEMA}.teams ORDER BY team_id")]  # fmt: skip
    visits = [Visit.from_event(VisitRequested.model_validate_json(r["body"])) for r in await conn.fetch(
        f"SELECT body FROM {SCHEMA}.visits WHERE state = 'open' AND body IS NOT NULL "
        "ORDER BY visit_id")]  # fmt: skip
    open_ids = {v.visit_id for v in visits}
    announced = {
        r["visit_id"]: Assignment(r["visit_id"], r["team_id"], r["day"], r["eta"], r["service_minutes"])
        for r in await conn.fetch(f"SELECT * FROM {SCHEMA}.announced")
        if r["visit_id"] in open_ids
    }  # fmt: skip
    routes = {(r["team_id"], r["day"]): route_from_row(r) for r in await conn.fetch(
        f"SELECT * FROM {SCHEMA}.routes WHERE day >= $1", today)}  # fmt: skip
    reasons = {r["visit_id"]: r["reason"] for r in await conn.fetch(
        f"SELECT visit_id, reason FROM {SCHEMA}.unassigned")}  # fmt: skip
    return View(teams, visits, announced, routes, reasons)


async def record_plan(
    conn: asyncpg.Connection, changes: Changes, served: set[str], revision: int, version: int
) -> None:
    await conn.execute(f"DELETE FROM {SCHEMA}.announced WHERE NOT visit_id = ANY($1::text[])",
                       list(served))  # fmt: skip
    await conn.executemany(
        f"INSERT INTO {SCHEMA}.announced VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (visit_id) "
        "DO UPDATE SET team_id = $2, day = $3, eta = $4, service_minutes = $5, plan_revision = $6",
        [(a.visit_id, a.team_id, a.day, a.eta, a.service_minutes, revision)
         for a in changes.scheduled],
    )  # fmt: skip
    await conn.executemany(
        f"INSERT INTO {SCHEMA}.routes VALUES ($1, $2, $3, $4) ON CONFLICT (team_id, day) "
        "DO UPDATE SET plan_revision = $3, body = $4",
        [(r.team_id, r.day, revision, route_body(r)) for r in changes.routes],
    )
    await conn.execute(f"DELETE FROM {SCHEMA}.unassigned WHERE visit_id = ANY($1::text[])",
                       list(served))  # fmt: skip
    await conn.executemany(
        f"INSERT INTO {SCHEMA}.unassigned VALUES ($1, $2, $3) ON CONFLICT (visit_id) "
        "DO UPDATE SET reason = $2, plan_revision = $3",
        [(u.visit_id, u.reason.value, revision) for u in changes.unassigned],
    )
    await conn.execute(f"UPDATE {SCHEMA}.planning SET planned_version = $1", version)


async def next_revision(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval(f"SELECT nextval('{SCHEMA}.plan_revision')"))


async def plans_of(conn: asyncpg.Connection, day: date, team_id: str | None) -> list[Route]:
    rows = await conn.fetch(
        f"SELECT * FROM {SCHEMA}.routes WHERE day = $1 AND ($2::text IS NULL OR team_id = $2) "
        "ORDER BY team_id", day, team_id,
    )  # fmt: skip
    return [route_from_row(r) for r in rows]
