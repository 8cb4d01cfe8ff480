"""A tablet that was offline while its route changed and a recapture was asked reads, once back,
the newest worklist (today and tomorrow, its team's open visits only, with venue, services and
residents) and its feedback (the recapture and a rejection with its reason), read by its key
from the buckets recording keeps, with no history to replay."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from nats.aio.client import Client

from contracts.enums import Modality
from contracts.events import (
    Feedback,
    RoutePlanned,
    RouteStop,
    VisitCancelled,
    VisitScheduled,
    Worklist,
)
from contracts.jember import WIB
from contracts.subjects import ROUTE_PLANNED, VISIT_CANCELLED, VISIT_SCHEDULED
from ots.simulate.tablet import SimulatedDevice
from ots.simulate.upstream import emit, enrol, schedule_visit
from ots_gateway.keys import DeviceKey
from ots_gateway.outbox import Outbox
from ots_gateway.views import read_feedback, read_worklist, unseen
from tests.integration.test_recording_fixtures import (  # noqa: F401 (fixtures)
    TEAM,
    Scene,
    default_config,
    eventually,
    running_scene,
)
from tests.support.requests import a_nik

OTHER_TEAM = "team-09"
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

    first = await once_read(lambda: read_worklist(js, device.device_id),
                            lambda w: visits_by_day(w) == [[today_visit, moved, cancelled]])  # fmt: skip
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
    mine = await once_read(lambda: read_worklist(js, device.device_id),
                           lambda w: visits_by_day(w) == [[today_visit], [tomorrow]])  # fmt: skip
    assert mine.team_id == TEAM and mine.version > first.version
    assert [d.date for d in mine.days] == [first.days[0].date,
                                           first.days[0].date + timedelta(days=1)]  # fmt: skip
    theirs_now = await once_read(lambda: read_worklist(js, other.device_id),
                                 lambda w: visits_by_day(w) == [[theirs, moved]])  # fmt: skip
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
