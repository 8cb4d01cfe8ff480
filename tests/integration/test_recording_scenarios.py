"""Recording, as a team's tablet drives it: complete recordings, exceptions, recaptures."""

import logging

import pytest

from contracts.enums import Modality
from ots.simulate.rules import every_slot
from tests.integration.test_recording_fixtures import (  # noqa: F401 (fixtures)
    Scene,
    default_config,
    eventually,
    gateway_drained,
    running_scene,
)

FINGER, IRIS, FACE, SIGNATURE = Modality.FINGER, Modality.IRIS, Modality.FACE, Modality.SIGNATURE


async def test_a_full_recording_completes_the_person_and_the_visit(
    scene: Scene, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    recorded, absent = scene.niks
    captures = scene.device.full_recording(scene.visit_id, recorded, quality=85)
    await scene.send([*captures, scene.device.service(scene.visit_id, "kk", count=2)])
    await scene.send([scene.device.visit_closed(scene.visit_id, absent_niks=[absent])])

    [completed] = await scene.events("ots.recording.completed", expect=1)
    assert completed["data"]["nik"] == recorded
    assert completed["data"]["quality"] == {"finger": 85, "iris": 85, "face": 85, "signature": 85}
    assert completed["data"]["exceptions"] == [] and completed["data"]["flagged"] is False
    assert "sample" not in str(completed)
    delivered = await scene.events("ots.service.delivered", expect=2)
    assert sorted((d["data"]["service_type"], d["data"]["count"]) for d in delivered) == [
        ("kk", 2), ("ktp_el_recording", 1)]  # fmt: skip
    [visit] = await scene.events("ots.visit.completed", expect=1)
    assert (visit["data"]["people_recorded"], visit["data"]["people_absent"]) == (1, 1)
    assert visit["data"]["services_delivered"] == 3 and visit["data"]["team_id"] == "team-07"

    status = await scene.enrollments()
    person = next(p for p in status["people"] if p["nik"] == recorded)
    assert person["complete"] and person["missing"] == [] and len(person["captured"]) == 14
    assert set(person["attempts"].values()) == {1}
    assert "sample" not in str(status)
    await eventually(lambda: gateway_drained(scene.nc))
    _assert_logs_hold_no_personal_data(caplog, scene, [c.data["sample"] for c in captures])


def _assert_logs_hold_no_personal_data(
    caplog: pytest.LogCaptureFixture, scene: Scene, samples: list[str]
) -> None:
    assert caplog.records, "the service logged nothing at all, so this proves nothing"
    for record in caplog.records:
        line = record.getMessage() + (caplog.text if record.exc_info else "")
        assert not any(nik in line for nik in scene.niks)
        assert not any(sample[:32] in line for sample in samples)


async def test_permanent_finger_iris_and_signature_exceptions_complete_a_recording(
    scene: Scene,
) -> None:
    nik = scene.niks[0]
    excepted = [(FINGER, "left_ring"), (FINGER, "left_little"), (IRIS, "left"), (SIGNATURE, None)]
    captures = [
        scene.device.capture(scene.visit_id, nik, modality, position)
        for modality, position in every_slot()
        if (modality, position) not in excepted
    ]
    exceptions = [scene.device.exception(scene.visit_id, nik, m, p) for m, p in excepted]
    await scene.send([*exceptions, *captures])

    [completed] = await scene.events("ots.recording.completed", expect=1)
    assert completed["data"]["modalities"] == ["finger", "iris", "face"]
    assert sorted((e["modality"], e["position"]) for e in completed["data"]["exceptions"]) == [
        ("finger", "left_little"), ("finger", "left_ring"), ("iris", "left"), ("signature", None)]  # fmt: skip


async def test_the_face_can_never_be_excepted(scene: Scene) -> None:
    nik = scene.niks[0]
    captures = scene.device.full_recording(scene.visit_id, nik, skip=(FACE,))
    await scene.send([*captures, scene.device.exception(scene.visit_id, nik, FACE)])

    [rejected] = await scene.events("ots.recording.rejected", expect=1)
    assert rejected["data"]["reason"] == "face_not_exceptable"
    await eventually(lambda: gateway_drained(scene.nc))
    assert await scene.events("ots.recording.completed", expect=1, within=1) == []
    person = next(p for p in (await scene.enrollments())["people"] if p["nik"] == nik)
    assert person["missing"] == ["face"] and person["excepted"] == []


async def test_a_capture_below_threshold_asks_for_a_recapture_until_the_third_attempt(
    scene: Scene,
) -> None:
    nik, visit = scene.niks[0], scene.visit_id
    others = [s for s in every_slot() if s != (FINGER, "right_thumb")]
    attempts = [
        scene.device.capture(visit, nik, FINGER, "right_thumb", quality=q) for q in (20, 35, 30)
    ]
    rest = [scene.device.capture(visit, nik, m, p, quality=90) for m, p in others]
    await scene.send([*attempts, *rest])

    requests = await scene.events("ots.recapture.requested.gw-team07-01", expect=2)
    assert [(r["data"]["attempt"], r["data"]["quality"], r["data"]["threshold"]) for r in requests] == [
        (1, 20, 40), (2, 35, 40)]  # fmt: skip
    [completed] = await scene.events("ots.recording.completed", expect=1)
    assert completed["data"]["flagged"] is True and completed["data"]["quality"]["finger"] == 35
    kept = await scene.db.fetch(
        "SELECT quality FROM recording.captures WHERE position = 'right_thumb'"
        " AND sample_key IS NOT NULL"
    )
    assert [r["quality"] for r in kept] == [35]


async def test_a_better_capture_replaces_a_worse_one(scene: Scene) -> None:
    nik, visit = scene.niks[0], scene.visit_id
    await scene.send([scene.device.capture(visit, nik, IRIS, "right", quality=50),
                      scene.device.capture(visit, nik, IRIS, "right", quality=88)])  # fmt: skip
    await eventually(lambda: gateway_drained(scene.nc))
    rows = await scene.db.fetch(
        "SELECT quality, sample_key IS NOT NULL AS kept FROM recording.captures ORDER BY sequence"
    )
    assert [(r["quality"], r["kept"]) for r in rows] == [(50, False), (88, True)]
    person = next(p for p in (await scene.enrollments())["people"] if p["nik"] == nik)
    assert person["quality"]["iris.right"] == 88 and person["attempts"]["iris.right"] == 2
