"""Turn a plan's changes into outbox events, in the transaction that records them."""

import asyncpg

from contracts.events import RoutePlanned, RouteStop, VisitScheduled, VisitUnassigned
from contracts.subjects import ROUTE_PLANNED, VISIT_SCHEDULED, VISIT_UNASSIGNED
from ots_runtime.outbox import OutboxRow, enqueue_rows, outbox_row
from services.dispatch.domain.changes import Changes
from services.dispatch.store import SCHEMA

SOURCE = "ots/dispatch"


async def publish(conn: asyncpg.Connection, changes: Changes, revision: int) -> None:
    rows: list[OutboxRow] = []
    for a in changes.scheduled:
        data = VisitScheduled(visit_id=a.visit_id, team_id=a.team_id, date=a.day, eta=a.eta,
                              service_minutes=a.service_minutes, plan_revision=revision)  # fmt: skip
        rows.append(outbox_row(VISIT_SCHEDULED, data, source=SOURCE, subject_id=a.visit_id))
    for r in changes.routes:
        stops = [RouteStop(visit_id=s.visit_id, eta=s.eta, service_minutes=s.service_minutes,
                           travel_minutes=s.travel_minutes) for s in r.stops]  # fmt: skip
        route = RoutePlanned(team_id=r.team_id, date=r.day, plan_revision=revision, stops=stops,
                             travel_minutes=r.travel_minutes, distance_km=r.distance_km)  # fmt: skip
        rows.append(outbox_row(ROUTE_PLANNED, route, source=SOURCE, subject_id=r.team_id))
    for u in changes.unassigned:
        gone = VisitUnassigned(visit_id=u.visit_id, reason=u.reason.value, plan_revision=revision)
        rows.append(outbox_row(VISIT_UNASSIGNED, gone, source=SOURCE, subject_id=u.visit_id))
    await enqueue_rows(conn, SCHEMA, rows)
