"""Recording keeps one projection of the visits and devices: a tablet's worklist and the gateway
consumer's verdicts read the same guarded rows, so a visit leaves a team's tablets when that
team's captures for it are refused, and comes back when they are accepted again. An upgraded
deployment keeps the visits' details the old worklist projection held, and `ots streams`
deletes the durable that fed it."""

import json
from datetime import UTC, datetime
from pathlib import Path
from shutil import copy

import asyncpg
import pytest
from nats.aio.client import Client
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import NotFoundError

from contracts.enums import Modality
from contracts.events import RouteStop
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
from ots.admin import provision_streams
from ots.simulate.tablet import GatewayMessage
from ots.simulate.upstream import emit
from ots_gateway.views import read_worklist
from ots_runtime.migrations import migrate
from ots_runtime.settings import Settings
from services.recording import worklist
from services.recording.app import MIGRATIONS
from tests.integration.test_gateway_worklist import (
    VENUE,
    applied_and_published,
    once_read,
    reassign,
    route,
    sent_at,
    unassigned,
    visits_by_day,
)
from tests.integration.test_recording_fixtures import (  # noqa: F401 (fixtures)
    TEAM,
    Scene,
    default_config,
    eventually,
    running_scene,
)
from tests.support.events import published

ACCEPTED = "accepted"


async def verdict(scene: Scene, message: GatewayMessage) -> str:
    """What recording decided of a capture: accepted (stored) or the reason it was refused."""
    capture_id = message.data["capture_id"]
    await scene.send([message])
    decided: list[str] = []

    async def known() -> bool:
        if await scene.db.fetchval(
            "SELECT EXISTS (SELECT FROM recording.captures WHERE capture_id = $1)", capture_id
        ):
            decided[:] = [ACCEPTED]
        else:
            refusals = await published(scene.nc, "ots.recording.rejected", expect=0, within=1)
            decided[:] = [r["data"]["reason"] for r in refusals
                          if r["data"]["capture_id"] == capture_id]  # fmt: skip
        return bool(decided)

    await eventually(known, within=30)
    return decided[0]


async def test_a_visit_is_on_its_teams_tablets_exactly_while_that_teams_captures_are_accepted(
    scene: Scene,
) -> None:
    js, device, visit_id = scene.nc.jetstream(), scene.device, scene.visit_id
    first, second = scene.niks

    def a_capture(nik: str, position: str) -> GatewayMessage:
        return device.capture(visit_id, nik, Modality.FINGER, position, quality=90)

    async def shown(stops: list[str]) -> None:
        await once_read(lambda: read_worklist(js, device.device_id),
                        lambda w: visits_by_day(w) == [stops])  # fmt: skip

    await route(scene.nc, TEAM, 0, 1, [visit_id])
    await shown([visit_id])
    assert await verdict(scene, a_capture(first, "right_index")) == ACCEPTED

    await emit(js, VISIT_UNASSIGNED, unassigned(visit_id, 4), visit_id)
    await shown([])
    assert await verdict(scene, a_capture(second, "right_index")) == "not_scheduled"
    device.chains.pop((visit_id, second))  # refused, so never part of the person's chain

    await reassign(scene.nc, visit_id, TEAM, 9)  # a newer plan schedules it again
    await shown([visit_id])
    assert await verdict(scene, a_capture(second, "right_index")) == ACCEPTED

    late = await sent_at(scene.nc, VISIT_UNASSIGNED, unassigned(visit_id, 4), visit_id,
                         datetime.now(UTC))  # an older plan's decision, delivered again  # fmt: skip
    await applied_and_published(scene, late)
    worklist_now = await read_worklist(js, device.device_id)
    assert worklist_now is not None and visits_by_day(worklist_now) == [[visit_id]]
    assert await verdict(scene, a_capture(second, "right_thumb")) == ACCEPTED


async def test_upgrading_keeps_the_details_the_old_worklist_projection_held(
    db: asyncpg.Pool, tmp_path: Path
) -> None:
    """Before 008 the details were only in `worklist_visits`; recording-events may lag behind
    the worklist consumer, so a visit it has not reached yet keeps them too."""
    for path in sorted(MIGRATIONS.glob("00[1-7]_*.sql")):
        copy(path, tmp_path)
    details = {"venue": VENUE, "services": ["kk"], "residents": []}
    today = datetime.now(WIB).date()
    async with db.acquire() as conn:
        await conn.execute("DROP SCHEMA recording CASCADE")
        await migrate(conn, "recording", tmp_path)
        await conn.execute(  # recording-events applied its request and its plan
            "INSERT INTO recording.visits (visit_id, venue_type, kecamatan_code, team_id,"
            " plan_revision, visit_date) VALUES ('applied', 'school', '350921', $1, 3, $2)",
            TEAM, today,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO recording.worklist_visits (visit_id, details, team_id, plan_revision)"
            " SELECT unnest($1::text[]), $2::jsonb, $3, 3",
            ["applied", "not-yet-applied"], json.dumps(details), TEAM,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO recording.worklist_routes VALUES ($1, $2, 3, $3::jsonb)",
            TEAM, today, json.dumps([RouteStop(
                visit_id=v, eta=datetime.now(UTC), service_minutes=60, travel_minutes=10,
            ).model_dump(mode="json") for v in ("applied", "not-yet-applied")]),
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO recording.devices (device_id, team_id, kind, public_key, expires_at,"
            " revoked, enrolled_at) VALUES ('tablet', $1, 'gateway', '', now(), false, now())",
            TEAM,
        )
        await conn.execute(
            "INSERT INTO recording.worklist_devices VALUES ('tablet', $1, false, now())", TEAM
        )
        await migrate(conn, "recording", MIGRATIONS)

        upgraded = await worklist.build(conn, "tablet", 2)
        old_tables = await conn.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'recording'"
            " AND tablename IN ('worklist_visits', 'worklist_devices')"
        )
        marked = await conn.fetchval(
            "SELECT count(*) FROM recording.device_views WHERE bucket = 'worklist'"
            " AND version > published"
        )

    assert upgraded is not None
    assert visits_by_day(upgraded) == [["applied", "not-yet-applied"]]
    assert [s.venue.name for s in upgraded.days[0].stops] == [VENUE["name"]] * 2
    assert old_tables == 0 and marked == 1  # the tablet's worklist is written again


async def test_ots_streams_deletes_the_retired_worklist_durable_and_widens_recording_events(
    settings: Settings, nc: Client
) -> None:
    js = nc.jetstream()
    before = (DEVICE_ENROLLED, VISIT_REQUESTED, VISIT_SCHEDULED, VISIT_UNASSIGNED, VISIT_CANCELLED)
    await js.delete_consumer("OTS_EVENTS", "recording-events")
    for durable in ("recording-events", "recording-worklist"):  # as the last release left them
        await js.add_consumer("OTS_EVENTS", ConsumerConfig(
            durable_name=durable, ack_policy=AckPolicy.EXPLICIT,
            filter_subjects=[s.pattern for s in before],
        ))  # fmt: skip

    await provision_streams(settings)

    info = await js.consumer_info("OTS_EVENTS", "recording-events")
    widened = set(info.config.filter_subjects or [])
    assert {VISIT_COMPLETED.pattern, ROUTE_PLANNED.pattern} <= widened
    with pytest.raises(NotFoundError):
        await js.consumer_info("OTS_EVENTS", "recording-worklist")
    await provision_streams(settings)  # again: nothing left to delete, nothing fails
