"""A tablet that was offline while its route changed and a recapture was asked reads, once back,
the newest worklist (today and tomorrow, its team's open visits only, with venue, services and
residents) and its feedback (the recapture and a rejection with its reason), read by its key
from the buckets recording keeps, with no history to replay."""

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from shutil import copy
from typing import TypeVar

import asyncpg
from nats.aio.client import Client
from nats.js import JetStreamContext
from pydantic import BaseModel

from contracts import envelope
from contracts.enums import Modality
from contracts.events import (
    DeviceEnrolled,
    Feedback,
    RoutePlanned,
    RouteStop,
    VisitCancelled,
    VisitScheduled,
    VisitUnassigned,
    Worklist,
)
from contracts.jember import WIB
from contracts.subjects import (
    DEVICE_ENROLLED,
    ROUTE_PLANNED,
    VISIT_CANCELLED,
    VISIT_SCHEDULED,
    VISIT_UNASSIGNED,
    EventSpec,
)
from ots.simulate.tablet import SimulatedDevice
from ots.simulate.upstream import emit, enrol, schedule_visit
from ots_gateway.keys import DeviceKey
from ots_gateway.outbox import Outbox
from ots_gateway.views import read_feedback, read_worklist, unseen
from ots_runtime.migrations import migrate
from services.recording import worklist as projection
from services.recording.app import MIGRATIONS
from tests.integration.test_recording_fixtures import (  # noqa: F401 (fixtures)
    TEAM,
    Scene,
    default_config,
    eventually,
    running_scene,
)
from tests.support.requests import a_nik

OTHER_TEAM = "team-09"
VENUE = {"type": "school", "name": "SMAN 1 Jember", "kecamatan_code": "350921", "lat": -8.17,
         "lon": 113.70}  # fmt: skip
T = TypeVar("T")


async def route(nc: Client, team_id: str, day: int, revision: int, visits: list[str]) -> None:
    date = datetime.now(WIB).date() + timedelta(days=day)
    eta = datetime.now(UTC) + timedelta(days=day)
    stops = [RouteStop(visit_id=v, eta=eta + timedelta(hours=i), service_minutes=60,
                       travel_minutes=10) for i, v in enumerate(visits)]  # fmt: skip
    planned = RoutePlanned(team_id=team_id, date=date, plan_revision=revision, stops=stops,
                           travel_minutes=10 * len(stops), distance_km=3.5)  # fmt: skip
    await emit(nc.jetstream(), ROUTE_PLANNED, planned, team_id)


async def reassign(nc: Client, visit_id: str, team_id: str, revision: int) -> None:
    scheduled = VisitScheduled(visit_id=visit_id, team_id=team_id, date=datetime.now(WIB).date(),
                               eta=datetime.now(UTC), service_minutes=60,
                               plan_revision=revision)  # fmt: skip
    await emit(nc.jetstream(), VISIT_SCHEDULED, scheduled, visit_id)


async def once_read(read: Callable[[], Awaitable[T | None]], holds: Callable[[T], bool]) -> T:
    found: list[T] = []

    async def check() -> bool:
        value = await read()
        found[:] = [value] if value is not None else []
        return bool(found) and holds(found[0])

    await eventually(check, within=30)
    return found[0]


def visits_by_day(worklist: Worklist) -> list[list[str]]:
    return [[s.visit_id for s in day.stops] for day in worklist.days]


async def worklist_showing(js: JetStreamContext, device_id: str, days: list[list[str]]) -> Worklist:
    """The device's worklist, once it lists these visits, day by day."""
    return await once_read(lambda: read_worklist(js, device_id),
                           lambda w: visits_by_day(w) == days)  # fmt: skip


async def sent_at(nc: Client, spec: EventSpec, data: BaseModel, subject_id: str,
                  time: datetime) -> str:  # fmt: skip
    """Publishes an event stamped `time` (as one sent then and delivered now); its id."""
    event = envelope(data, type_=spec.type, source=f"ots/{spec.producer}", subject=subject_id)
    event = event.model_copy(update={"time": time})
    await nc.jetstream().publish(spec.subject(), event.model_dump_json().encode(),
                                 headers={"Nats-Msg-Id": event.id})  # fmt: skip
    return event.id


async def applied_and_published(scene: Scene, event_id: str) -> None:
    """Recording's events consumer applied the event and every view it marked is written."""

    async def settled() -> bool:
        return bool(await scene.db.fetchval(
            "SELECT EXISTS (SELECT FROM recording.inbox WHERE consumer = 'recording-events'"
            " AND event_id = $1) AND NOT EXISTS (SELECT FROM recording.device_views"
            " WHERE version > published)", event_id,
        ))  # fmt: skip

    await eventually(settled, within=30)


def unassigned(visit_id: str, revision: int) -> VisitUnassigned:
    return VisitUnassigned.model_validate({"visit_id": visit_id, "plan_revision": revision,
                                           "reason": "no_capacity_in_window"})  # fmt: skip


async def test_a_device_back_online_reads_its_newest_worklist_and_its_feedback(
    scene: Scene, tmp_path: Path
) -> None:
    js, device, today_visit = scene.nc.jetstream(), scene.device, scene.visit_id
    other = SimulatedDevice("gw-team09-01")
    await enrol(js, other, OTHER_TEAM)
    moved, cancelled, tomorrow, theirs, later = (f"{scene.visit_id}-{n}" for n in
                                                 ("moved", "cancelled", "tomorrow", "theirs", "later"))  # fmt: skip
    for visit_id in (moved, cancelled, tomorrow):
        await schedule_visit(js, visit_id, TEAM, [a_nik()])
    await schedule_visit(js, theirs, OTHER_TEAM, [a_nik()])
    await schedule_visit(js, later, TEAM, [a_nik()])
    await route(scene.nc, TEAM, 0, 1, [today_visit, moved, cancelled])
    await route(scene.nc, OTHER_TEAM, 0, 1, [theirs])
    await route(scene.nc, TEAM, 2, 1, [later])  # the day after tomorrow: not yet shown

    first = await worklist_showing(js, device.device_id, [[today_visit, moved, cancelled]])
    stop = first.days[0].stops[0]
    assert sorted(r.nik for r in stop.residents) == sorted(scene.niks)
    assert stop.venue.name and stop.services and all(r.name for r in stop.residents)

    # offline from here: one capture sent before, then the route changes and a recapture is asked
    await scene.send([device.capture(today_visit, scene.niks[0], Modality.FINGER, "right_index",
                                     quality=10)])  # fmt: skip
    await scene.send([SimulatedDevice(device.device_id).capture(
        today_visit, scene.niks[1], Modality.FACE, quality=90)])  # fmt: skip
    await reassign(scene.nc, moved, OTHER_TEAM, 2)
    await route(scene.nc, OTHER_TEAM, 0, 2, [theirs, moved])
    await emit(js, VISIT_CANCELLED, VisitCancelled(visit_id=cancelled, reason="closed"), cancelled)
    await route(scene.nc, TEAM, 1, 1, [tomorrow])

    # back online: one read of each, nothing replayed
    mine = await worklist_showing(js, device.device_id, [[today_visit], [tomorrow]])
    assert mine.team_id == TEAM and mine.version > first.version
    assert [d.date for d in mine.days] == [first.days[0].date,
                                           first.days[0].date + timedelta(days=1)]  # fmt: skip
    theirs_now = await worklist_showing(js, other.device_id, [[theirs, moved]])
    assert theirs_now.device_id == other.device_id

    feedback: Feedback = await once_read(
        lambda: read_feedback(js, device.device_id),
        lambda f: len(f.recaptures) == 1 and len(f.rejections) == 1,
    )
    [recapture] = feedback.recaptures
    assert (recapture.request.visit_id, recapture.request.nik) == (today_visit, scene.niks[0])
    assert (recapture.request.modality, recapture.request.position) == (Modality.FINGER,
                                                                      "right_index")  # fmt: skip
    assert feedback.rejections[0].reason == "bad_signature"
    assert await read_feedback(js, other.device_id) is None  # nothing to tell the other tablet

    outbox = Outbox(tmp_path / "outbox.db", device.device_id, DeviceKey.generate())
    try:
        assert unseen(outbox, feedback) == (feedback.recaptures, feedback.rejections)
        assert unseen(outbox, feedback) == ([], [])  # handed to the app once
    finally:
        outbox.close()


async def test_a_visit_left_unassigned_is_back_on_the_tablet_once_a_newer_plan_schedules_it(
    scene: Scene,
) -> None:
    js, device, visit_id = scene.nc.jetstream(), scene.device, scene.visit_id
    await route(scene.nc, TEAM, 0, 1, [visit_id])
    await worklist_showing(js, device.device_id, [[visit_id]])

    await emit(js, VISIT_UNASSIGNED, unassigned(visit_id, 4), visit_id)
    await worklist_showing(js, device.device_id, [[]])

    await reassign(scene.nc, visit_id, TEAM, 9)  # the rolling horizon finds it a slot again
    back = await worklist_showing(js, device.device_id, [[visit_id]])
    assert sorted(r.nik for r in back.days[0].stops[0].residents) == sorted(scene.niks)


async def test_an_older_unassignment_delivered_late_leaves_the_visit_on_the_tablet(
    scene: Scene,
) -> None:
    js, device, visit_id = scene.nc.jetstream(), scene.device, scene.visit_id
    await reassign(scene.nc, visit_id, TEAM, 9)
    await route(scene.nc, TEAM, 0, 9, [visit_id])
    await worklist_showing(js, device.device_id, [[visit_id]])

    late = await sent_at(scene.nc, VISIT_UNASSIGNED, unassigned(visit_id, 4), visit_id,
                         datetime.now(UTC))  # fmt: skip
    await applied_and_published(scene, late)

    worklist = await read_worklist(js, device.device_id)
    assert worklist is not None and visits_by_day(worklist) == [[visit_id]]


async def test_an_older_enrolment_delivered_after_the_revocation_leaves_the_device_revoked(
    scene: Scene,
) -> None:
    js, device, visit_id = scene.nc.jetstream(), scene.device, scene.visit_id
    await route(scene.nc, TEAM, 0, 1, [visit_id])
    await worklist_showing(js, device.device_id, [[visit_id]])

    def enrolment(revoked: bool) -> DeviceEnrolled:
        return DeviceEnrolled.model_validate({
            "device_id": device.device_id, "team_id": TEAM, "kind": "gateway",
            "public_key": device.public_key, "revoked": revoked,
            "expires_at": datetime.now(UTC) + timedelta(days=365),
        })  # fmt: skip

    revoked_at = datetime.now(UTC)  # after the scene's enrolment
    await sent_at(scene.nc, DEVICE_ENROLLED, enrolment(True), device.device_id, revoked_at)
    await once_read(lambda: read_worklist(js, device.device_id), lambda w: w.days == [])

    redelivered = await sent_at(scene.nc, DEVICE_ENROLLED, enrolment(False), device.device_id,
                                revoked_at - timedelta(minutes=5))  # fmt: skip
    await applied_and_published(scene, redelivered)

    worklist = await read_worklist(js, device.device_id)
    assert worklist is not None and worklist.team_id == TEAM and worklist.days == []
    assert await scene.db.fetchval(
        "SELECT revoked FROM recording.devices WHERE device_id = $1", device.device_id
    )


async def test_upgrading_gives_back_the_stops_and_revocations_the_old_projection_lost(
    db: asyncpg.Pool, tmp_path: Path
) -> None:
    """Before 007 an unassigned visit stayed done and a late enrolment un-revoked its device;
    recording's own visits and devices, guarded all along, say what is true."""
    for path in sorted(MIGRATIONS.glob("00[1-6]_*.sql")):
        copy(path, tmp_path)
    visits = ["rescheduled", "waiting", "cancelled"]
    async with db.acquire() as conn:
        await conn.execute("DROP SCHEMA recording CASCADE")
        await migrate(conn, "recording", tmp_path)
        await conn.executemany(
            "INSERT INTO recording.visits (visit_id, team_id, plan_revision, cancelled, unassigned)"
            " VALUES ($1, $2, $3, $4, $5)",
            [("rescheduled", TEAM, 9, False, False), ("waiting", None, 4, False, True),
             ("cancelled", TEAM, 1, True, False)],
        )  # fmt: skip
        await conn.execute(  # as 006 left them: all three done
            "INSERT INTO recording.worklist_visits (visit_id, details, team_id, plan_revision, done)"
            " SELECT unnest($1::text[]), $2::jsonb, $3, 1, true",
            visits, json.dumps({"venue": VENUE, "services": ["kk"], "residents": []}), TEAM,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO recording.worklist_routes VALUES ($1, $2, 9, $3::jsonb)",
            TEAM, datetime.now(WIB).date(), json.dumps([RouteStop(
                visit_id=v, eta=datetime.now(UTC), service_minutes=60, travel_minutes=10,
            ).model_dump(mode="json") for v in visits]),
        )  # fmt: skip
        await conn.executemany(
            "INSERT INTO recording.devices (device_id, team_id, kind, public_key, expires_at,"
            " revoked, enrolled_at) VALUES ($1, $2, 'gateway', '', now(), $3, now())",
            [("kept", TEAM, False), ("stolen", TEAM, True)],
        )  # fmt: skip
        await conn.executemany(  # as 006 left them: the stolen one un-revoked
            "INSERT INTO recording.worklist_devices VALUES ($1, $2, false)",
            [("kept", TEAM), ("stolen", TEAM)],
        )
        await migrate(conn, "recording", MIGRATIONS)

        kept = await projection.build(conn, "kept", 2)
        stolen = await projection.build(conn, "stolen", 2)
        marked = await conn.fetchval(
            "SELECT count(*) FROM recording.device_views WHERE version > published"
        )
    assert kept is not None and visits_by_day(kept) == [["rescheduled"]]
    assert stolen is not None and stolen.days == []
    assert marked == 2  # both worklists are written again
