"""`GET /v1/plans?date=&team_id=`: each team's ordered stops with ETAs."""

from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request

from services.dispatch.offline import route_json
from services.dispatch.store import plans_of

router = APIRouter()


@router.get("/v1/plans", tags=["plans"])
async def get_plans(
    request: Request,
    day: date = Query(alias="date"),
    team_id: str | None = Query(default=None, max_length=64),
) -> dict[str, Any]:
    async with request.app.state.runtime.pool.acquire() as conn:
        routes = await plans_of(conn, day, team_id)
    return {"date": day.isoformat(), "routes": [route_json(r) for r in routes if r.stops]}
