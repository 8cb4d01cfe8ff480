"""An operator asks dispatch to plan again (`POST /v1/plans/replan`) on real NATS and
PostgreSQL: when only time has passed no event marks the view changed, and the request does."""

from datetime import datetime, timedelta

import asyncpg
from nats.aio.client import Client

from contracts.events import VisitRequested
from contracts.subjects import TEAM_UPDATED, VISIT_REQUESTED
from ots_runtime.auth import Role
from ots_runtime.settings import Settings
from services.dispatch.app import create_app
from tests.integration.test_dispatch_service import MONDAY, QUICK, data_of, send, team, visit
from tests.support.events import published
from tests.support.http_service import serving
from tests.support.tokens import signed_token

THURSDAY = MONDAY.date() + timedelta(days=3)


class MovingClock:
    """Dispatch's clock, which the test moves on as days pass."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def bearer(role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {signed_token(role)}"}


def from_thursday(visit_id: str) -> VisitRequested:
    """A visit that may happen only on Thursday or Friday: past a Monday's 3-day horizon."""
    body = visit(visit_id).model_dump(mode="json")
    body["window"] = {"earliest": THURSDAY.isoformat(),
                      "latest": (THURSDAY + timedelta(days=1)).isoformat()}  # fmt: skip
    return VisitRequested.model_validate(body)


async def pending_versions(db: asyncpg.Pool) -> int:
    async with db.acquire() as conn:
        row = await conn.fetchrow("SELECT dirty_version, planned_version FROM dispatch.planning")
    return int(row["dirty_version"] - row["planned_version"])


async def test_a_replan_request_plans_a_visit_that_time_brought_into_the_horizon(
    settings: Settings, nc: Client, db: asyncpg.Pool
) -> None:
    clock = MovingClock(MONDAY)
    async with serving(create_app(settings, dispatch=QUICK, clock=clock)) as http:
        await send(nc, TEAM_UPDATED, team())
        await send(nc, VISIT_REQUESTED, from_thursday("later"))
        [waiting] = data_of(await published(nc, "ots.visit.unassigned", expect=1))
        assert waiting["reason"] == "beyond_horizon"

        clock.now = MONDAY + timedelta(days=2)  # Wednesday: Thursday is inside the horizon now
        assert await pending_versions(db) == 0  # no event says so: nothing would plan it

        reply = await http.post("/v1/plans/replan", headers=bearer(Role.OPERATOR))
        assert (reply.status_code, reply.json()) == (202, {"status": "replanning"})
        [scheduled] = data_of(await published(nc, "ots.visit.scheduled", expect=1))
        plans = await http.get("/v1/plans", params={"date": THURSDAY.isoformat()},
                               headers=bearer(Role.OPERATOR))  # fmt: skip

    assert scheduled["visit_id"] == "later" and scheduled["date"] == THURSDAY.isoformat()
    assert scheduled["plan_revision"] > waiting["plan_revision"]
    [route] = plans.json()["routes"]
    assert [s["visit_id"] for s in route["stops"]] == ["later"]


async def test_only_an_operator_may_ask_for_a_new_plan(
    settings: Settings, db: asyncpg.Pool
) -> None:
    async with serving(create_app(settings, dispatch=QUICK, clock=lambda: MONDAY)) as http:
        before = await pending_versions(db)
        anonymous = await http.post("/v1/plans/replan")
        refused = [
            await http.post("/v1/plans/replan", headers=bearer(role))
            for role in (Role.AGENCY, Role.VIEWER)
        ]
        after = await pending_versions(db)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert [r.status_code for r in refused] == [403, 403]
    assert after == before
