"""The devices' views outlast a NATS outage: a worklist changed while NATS is away stays marked
in PostgreSQL and reaches its bucket once NATS is back."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg
from nats.aio.client import Client
from pydantic import BaseModel

from contracts import envelope
from contracts.events import DeviceEnrolled, RecordingRejected, RoutePlanned, RouteStop, Worklist
from contracts.jember import WIB
from contracts.subjects import DEVICE_ENROLLED, RECORDING_REJECTED, ROUTE_PLANNED, EventSpec
from ots_gateway.views import read_worklist
from ots_runtime.embedded import EmbeddedNats
from ots_runtime.settings import Settings
from services.recording import emit, events, feedback, views
from services.recording.emit import Outgoing
from tests.support.events import eventually

DEVICE, TEAM = "gw-team07-01", "team-07"


async def applied(pool: asyncpg.Pool, spec: EventSpec, data: BaseModel) -> None:
    """As recording's `recording-events` consumer applies an event: in one transaction."""
    handler = next(h for h in events.HANDLERS if h.spec is spec)
    event = envelope(data, type_=spec.type, source="ots/test", subject=None)
    async with pool.acquire() as conn, conn.transaction():
        await handler.handle(conn, event)


def a_route(revision: int, stops: int) -> RoutePlanned:
    eta = datetime.now(UTC)
    return RoutePlanned(
        team_id=TEAM, date=datetime.now(WIB).date(), plan_revision=revision,
        stops=[RouteStop(visit_id=f"visit-{i}", eta=eta + timedelta(hours=i), service_minutes=30,
                         travel_minutes=5) for i in range(stops)],
        travel_minutes=5 * stops, distance_km=1.0,
    )  # fmt: skip


async def unpublished(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval(
        "SELECT count(*) FROM recording.device_views WHERE version > published"
    ))  # fmt: skip


async def test_a_view_changed_while_nats_is_away_is_published_when_it_returns(
    settings: Settings, db: asyncpg.Pool, nc: Client, nats_server: EmbeddedNats
) -> None:
    enrolled = DeviceEnrolled(device_id=DEVICE, team_id=TEAM, kind="gateway",
                              public_key="A" * 43 + "=",
                              expires_at=datetime.now(UTC) + timedelta(days=30))  # fmt: skip
    await applied(db, DEVICE_ENROLLED, enrolled)
    stop = asyncio.Event()
    publisher = asyncio.create_task(views.run_publisher(db, nc.jetstream(), stop, every=0.1))
    try:
        first = await _eventually_read(nc, lambda w: w.version >= 1)
        assert first.days == []  # no route yet
        nats_server.stop()
        try:
            await applied(db, ROUTE_PLANNED, a_route(1, 0))
            await asyncio.sleep(0.5)  # the publisher tries, and fails, a few times
            assert await unpublished(db) == 1
        finally:
            nats_server.start()
        after = await _eventually_read(nc, lambda w: w.version > first.version)
        assert [d.plan_revision for d in after.days] == [1]
        await eventually(lambda: _none_unpublished(db))
    finally:
        stop.set()
        await publisher


async def _none_unpublished(pool: asyncpg.Pool) -> bool:
    return await unpublished(pool) == 0


async def _eventually_read(nc: Client, holds: Callable[[Worklist], bool]) -> Worklist:
    found: list[Worklist] = []

    async def check() -> bool:
        try:
            value = await read_worklist(nc.jetstream(), DEVICE)
        except Exception:  # NATS still reconnecting
            return False
        found[:] = [value] if value is not None else []
        return bool(found) and holds(found[0])

    await eventually(check, within=30)
    return found[0]


async def test_feedback_keeps_any_rejection_of_an_enrolled_device_and_none_of_a_stranger(
    settings: Settings, db: asyncpg.Pool
) -> None:
    enrolled = DeviceEnrolled(device_id=DEVICE, team_id=TEAM, kind="gateway",
                              public_key="A" * 43 + "=",
                              expires_at=datetime.now(UTC) + timedelta(days=30))  # fmt: skip
    event = envelope(enrolled, type_=DEVICE_ENROLLED.type, source="ots/test", subject=None)
    async with db.acquire() as conn, conn.transaction():
        await events.on_device_enrolled(conn, event)
    refusals = [
        RecordingRejected(capture_id="cap-\x00-nul", device_id=DEVICE, reason="malformed"),
        RecordingRejected(capture_id="cap-1", device_id="gw-nobody", reason="unknown_device"),
    ]
    async with db.acquire() as conn, conn.transaction():
        await emit.enqueue_all(
            conn, [Outgoing(RECORDING_REJECTED, r, r.capture_id) for r in refusals]
        )
    async with db.acquire() as conn:
        kept = await feedback.build(conn, DEVICE, version=1)
        stranger = await conn.fetchval(
            "SELECT count(*) FROM recording.feedback WHERE device_id = 'gw-nobody'"
        )
    assert [(r.capture_id, r.reason) for r in kept.rejections] == [("cap-\x00-nul", "malformed")]
    assert stranger == 0
    marked = await db.fetch(
        "SELECT device_id FROM recording.device_views WHERE bucket = 'feedback'"
        " AND version > published"
    )
    assert [r["device_id"] for r in marked] == [DEVICE]  # the enrolled device's, to be written
