"""No visit left open: recording closes a visit no tablet closed, at the end of its day or when
an operator asks, follows a visit unassigned from its team, and keeps a cancelled visit's work."""

from datetime import UTC, date, datetime, timedelta

from contracts.events import VisitCancelled, VisitCloseRequested, VisitScheduled, VisitUnassigned
from contracts.jember import WIB
from contracts.subjects import (
    VISIT_CANCELLED,
    VISIT_CLOSE_REQUESTED,
    VISIT_SCHEDULED,
    VISIT_UNASSIGNED,
)
from ots.simulate.upstream import emit
from tests.integration.test_recording_fixtures import (  # noqa: F401 (fixtures)
    TEAM,
    Scene,
    configured,
    eventually,
    running_scene,
)

closing_config = configured(recording_close_after_day_hours=0)


async def _record_one(scene: Scene) -> str:
    recorded = scene.niks[0]
    await scene.send(scene.device.full_recording(scene.visit_id, recorded, quality=85))
    [completed] = await scene.events("ots.recording.completed", expect=1)
    assert completed["data"]["nik"] == recorded
    return recorded


async def _visit_row_has(scene: Scene, condition: str) -> bool:
    return bool(
        await scene.db.fetchval(
            f"SELECT count(*) FROM recording.visits WHERE visit_id = $1 AND {condition}",
            scene.visit_id,
        )
    )


async def _visit_has_held_capture(scene: Scene) -> bool:
    return bool(
        await scene.db.fetchval(
            "SELECT count(*) FROM recording.captures WHERE visit_id = $1 AND NOT linked",
            scene.visit_id,
        )
    )


async def _rescheduled(scene: Scene, day: date) -> None:
    scheduled = VisitScheduled(
        visit_id=scene.visit_id, team_id=TEAM, date=day, eta=datetime.now(UTC),
        service_minutes=60, plan_revision=2,
    )  # fmt: skip
    await emit(scene.nc.jetstream(), VISIT_SCHEDULED, scheduled, scene.visit_id)


async def test_a_visit_of_a_past_day_closes_with_the_unrecorded_residents_absent(
    scene: Scene,
) -> None:
    await _record_one(scene)
    # Today's visit is not closed before its day is over, even with no hours after it.
    assert await scene.events("ots.visit.completed", expect=1, within=1.0) == []
    await _rescheduled(scene, datetime.now(WIB).date() - timedelta(days=2))

    [visit] = await scene.events("ots.visit.completed", expect=1)
    assert (visit["data"]["people_recorded"], visit["data"]["people_absent"]) == (1, 1)
    assert visit["data"]["team_id"] == TEAM and visit["data"]["services_delivered"] == 1
    assert await _visit_row_has(
        scene, "closed_by = 'recording:day-end' AND completed_at IS NOT NULL"
    )
    status = await scene.enrollments()
    assert status["closed"] and status["completed"]
    assert await scene.events("ots.visit.completed", expect=2, within=1.0) == [visit]


async def test_an_operator_close_completes_the_visit_at_once(scene: Scene) -> None:
    await _record_one(scene)
    first, held = scene.device.full_recording(scene.visit_id, scene.niks[1])[:2]
    await scene.send([held])  # its predecessor never comes
    await eventually(lambda: _visit_has_held_capture(scene))
    request = VisitCloseRequested(
        visit_id=scene.visit_id, reason="tablet broken", requested_by="dispendukcapil",
        at=datetime.now(UTC),
    )  # fmt: skip
    await emit(scene.nc.jetstream(), VISIT_CLOSE_REQUESTED, request, scene.visit_id)

    [visit] = await scene.events("ots.visit.completed", expect=1)
    assert (visit["data"]["people_recorded"], visit["data"]["people_absent"]) == (1, 1)
    assert await _visit_row_has(scene, "closed_by = 'recording:operator'")
    [rejected] = await scene.events("ots.recording.rejected", expect=1)
    assert (rejected["data"]["capture_id"], rejected["data"]["reason"]) == (
        held.data["capture_id"], "broken_chain")  # fmt: skip
    assert first.data["capture_id"] != held.data["capture_id"]
    await emit(scene.nc.jetstream(), VISIT_CLOSE_REQUESTED, request, scene.visit_id)
    assert await scene.events("ots.visit.completed", expect=2, within=1.5) == [visit]


async def test_captures_from_the_former_team_of_an_unassigned_visit_are_refused(
    scene: Scene,
) -> None:
    unassigned = VisitUnassigned(
        visit_id=scene.visit_id, reason="no_capacity_in_window", plan_revision=2
    )
    await emit(scene.nc.jetstream(), VISIT_UNASSIGNED, unassigned, scene.visit_id)
    await eventually(lambda: _visit_row_has(scene, "unassigned AND team_id IS NULL"))

    [capture] = scene.device.full_recording(scene.visit_id, scene.niks[0])[:1]
    await scene.send([capture])
    [rejected] = await scene.events("ots.recording.rejected", expect=1)
    assert rejected["data"]["reason"] == "not_scheduled"
    assert rejected["data"]["capture_id"] == capture.data["capture_id"]
    assert not await scene.db.fetchval(
        "SELECT count(*) FROM recording.captures WHERE visit_id = $1", scene.visit_id
    )
    # No team is credited with it: it has no day left to be closed at the end of.
    assert await scene.events("ots.visit.completed", expect=1, within=1.0) == []
    assert await _visit_row_has(scene, "closed_at IS NULL")


async def test_a_visit_cancelled_after_its_team_worked_it_completes_with_what_was_recorded(
    scene: Scene,
) -> None:
    await _record_one(scene)
    cancelled = VisitCancelled(visit_id=scene.visit_id, reason="resident moved")
    await emit(scene.nc.jetstream(), VISIT_CANCELLED, cancelled, scene.visit_id)

    [visit] = await scene.events("ots.visit.completed", expect=1)
    assert (visit["data"]["people_recorded"], visit["data"]["people_absent"]) == (1, 1)
    assert await _visit_row_has(scene, "cancelled AND closed_by = 'recording:cancelled'")
    status = await scene.enrollments()
    assert status["completed"]
    assert any(p["complete"] for p in status["people"] if p["nik"] == scene.niks[0])


async def test_a_visit_cancelled_before_any_work_is_dropped(scene: Scene) -> None:
    cancelled = VisitCancelled(visit_id=scene.visit_id, reason="resident moved")
    await emit(scene.nc.jetstream(), VISIT_CANCELLED, cancelled, scene.visit_id)
    await eventually(lambda: _visit_row_has(scene, "cancelled"))
    request = VisitCloseRequested(
        visit_id=scene.visit_id, reason="late close", requested_by="dispendukcapil",
        at=datetime.now(UTC),
    )  # fmt: skip
    await emit(scene.nc.jetstream(), VISIT_CLOSE_REQUESTED, request, scene.visit_id)
    await _rescheduled(scene, datetime.now(WIB).date() - timedelta(days=2))
    assert await scene.events("ots.visit.completed", expect=1, within=1.5) == []
    assert await _visit_row_has(scene, "closed_at IS NULL AND completed_at IS NULL")
