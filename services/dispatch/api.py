"""`GET /v1/plans?date=&team_id=`: each team's ordered stops with ETAs; `POST /v1/plans/replan`:
an operator asks for the horizon to be planned again."""

from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Query, Request

from contracts.events import Id
from ots_runtime.auth import Role, Who, require
from ots_runtime.http import UNAUTHORIZED, IsoDate, problem_responses
from services.dispatch.handlers import mark_dirty
from services.dispatch.offline import route_json
from services.dispatch.store import SCHEMA, plans_of

router = APIRouter()
REPLAN = problem_responses({
    401: UNAUTHORIZED, 403: "Only an operator may ask for a new plan.",
}, also={202: {
    "description": "Marked for planning: a planner (on any replica) plans the horizon again "
                   "shortly and publishes what changes, as after any request or team update.",
    "content": {"application/json": {"schema": {
        "type": "object", "required": ["status"], "properties": {"status": {"const": "replanning"}},
    }}},
}})  # fmt: skip


@router.get("/v1/plans", tags=["plans"], responses=problem_responses({401: UNAUTHORIZED}))
async def get_plans(
    request: Request,
    who: Who,
    day: Annotated[IsoDate, Query(alias="date")],
    team_id: Annotated[Id | None, Query()] = None,
) -> dict[str, Any]:
    """Operators and viewers see every stop; an agency only the stops of its own visits."""
    async with request.app.state.runtime.pool.acquire() as conn:
        routes = [route_json(r) for r in await plans_of(conn, day, team_id) if r.stops]
        if not who.sees_every_visit:
            routes = await _own_stops(conn, routes, who.agency)
    return {"date": day.isoformat(), "routes": routes}


async def _own_stops(
    conn: asyncpg.Connection, routes: list[dict[str, Any]], agency: str
) -> list[dict[str, Any]]:
    """The routes cut to the stops of visits `agency` requested (as ots.visit.requested named
    it, which intake binds to the requesting token's agency)."""
    ids = [stop["visit_id"] for route in routes for stop in route["stops"]]
    own = {
        r["visit_id"]
        for r in await conn.fetch(
            f"SELECT visit_id FROM {SCHEMA}.visits WHERE visit_id = ANY($1::text[]) "
            "AND body -> 'requester' ->> 'agency_name' = $2",
            ids, agency,
        )
    }  # fmt: skip
    cut = [
        route | {"stops": [s for s in route["stops"] if s["visit_id"] in own]} for route in routes
    ]
    return [route for route in cut if route["stops"]]


@router.post("/v1/plans/replan", status_code=202, tags=["plans"], responses=REPLAN)
async def replan(request: Request, who: Who) -> dict[str, str]:
    """Plan again though no request or team changed: time has passed (a window came into the
    horizon, a day ended). The view is marked dirty as the event handlers mark it, so
    whichever replica's planner is free picks it up (NOTIFY wakes them all)."""
    require(who, Role.OPERATOR)
    async with request.app.state.runtime.pool.acquire() as conn, conn.transaction():
        await mark_dirty(conn)
    return {"status": "replanning"}
