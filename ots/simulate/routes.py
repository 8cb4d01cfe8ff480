"""Which visits each team's gateway works, in the order dispatch planned them."""

import asyncio
from typing import Any

from nats.js import JetStreamContext

from contracts.streams import EVENTS
from ots.simulate.http import Service
from ots.simulate.observed import patiently
from ots.simulate.operators import Requested

RECORDING_EVENTS_DURABLE = "recording-events"
"""Recording's durable consumer on OTS_EVENTS, as deployed (deploy/nats/README.md)."""


async def route_of(
    dispatch: Service, team_id: str, visits: list[Requested], seen: dict[str, dict[str, Any]]
) -> list[Requested]:
    """The team's scheduled visits, ordered as `GET /v1/plans` lists its stops day by day.

    A Car Free Day is on every crew's route, but recording accepts it only from the team named
    in `ots.visit.scheduled`: a gateway works just the visits scheduled for its own team."""
    mine = [v for v in visits if seen[v.visit_id]["team_id"] == team_id]
    order: dict[str, tuple[str, int]] = {}
    for day in sorted({seen[v.visit_id]["date"] for v in mine}):
        plans = await dispatch.json("GET", "/v1/plans", params={"date": day, "team_id": team_id})
        for route in plans["routes"]:
            for position, stop in enumerate(route["stops"]):
                order[stop["visit_id"]] = (day, position)
    return sorted(mine, key=lambda v: order.get(v.visit_id, (seen[v.visit_id]["date"], 10**6)))


async def recording_caught_up(js: JetStreamContext, patience: float) -> None:
    """Recording has applied every event so far (devices enrolled, visits scheduled), so no
    capture can reach it before the schedule it is checked against, even after a restart.
    `patiently` raises the timeout's cancellation even where a request lost it."""
    async with asyncio.timeout(patience):
        while True:
            info = await patiently(lambda: js.consumer_info(EVENTS.name, RECORDING_EVENTS_DURABLE))
            if info.num_pending == 0 and info.num_ack_pending == 0:
                return
            await asyncio.sleep(0.3)
