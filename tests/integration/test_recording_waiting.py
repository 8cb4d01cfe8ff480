"""A gateway message may outrun the events that make it trustworthy: it waits, it is not lost."""

from nats.aio.client import Client

from contracts.enums import Modality
from ots.simulate.upstream import schedule_visit
from tests.integration.test_recording_fixtures import (  # noqa: F401 (fixtures)
    TEAM,
    Scene,
    configured,
    eventually,
    running_scene,
)

patient = configured(gateway_wait_seconds=1.0)


async def deliveries(nc: Client) -> int:
    info = await nc.jetstream().consumer_info("OTS_GATEWAY", "recording-gateway")
    return int(info.delivered.consumer_seq or 0)


async def test_a_capture_that_outruns_its_visit_schedule_waits_for_it_instead_of_being_refused(
    scene: Scene,
) -> None:
    before = await deliveries(scene.nc)
    early = scene.device.capture(
        "visit-scheduled-late", scene.niks[0], Modality.FINGER, "left_ring"
    )
    await scene.send([early])

    async def seen_once() -> bool:
        return await deliveries(scene.nc) > before

    await eventually(seen_once)
    await schedule_visit(scene.nc.jetstream(), "visit-scheduled-late", TEAM, [scene.niks[0]])

    async def stored() -> bool:
        return bool(await scene.db.fetchval(
            "SELECT count(*) FROM recording.captures WHERE capture_id = $1",
            early.data["capture_id"]))  # fmt: skip

    await eventually(stored)
    assert await scene.events("ots.recording.rejected", expect=0, within=0.5) == []
