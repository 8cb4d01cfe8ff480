"""A tablet's outbox stops sending when its task is cancelled, even if the publish that was
waiting lost the cancellation (Python 3.11's `asyncio.wait_for`), and loses nothing; the
simulated day's waits keep their time limits the same way."""

import asyncio
import contextlib
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from contracts.enums import Modality
from ots.simulate.routes import recording_caught_up
from ots_gateway.cancellation import stop_if_cancelled
from ots_gateway.keys import DeviceKey
from ots_gateway.outbox import Outbox

DEVICE = "gw-team07-01"
NIK = "3509214101050001"
RECORDED = 200


class JetStreamLosingCancellations:
    """Acknowledges every publish after a moment; a publish cancelled meanwhile returns as if
    its acknowledgement came in the same turn, as nats-py's request does on Python 3.11."""

    def __init__(self) -> None:
        self.published = 0

    async def publish(self, subject: str, body: bytes, **options: Any) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.005)
        self.published += 1


async def test_a_cancelled_flush_stops_though_its_publish_lost_the_cancellation(
    tmp_path: Path,
) -> None:
    outbox = Outbox(tmp_path / "outbox.db", DEVICE, DeviceKey.load_or_create(tmp_path / "key"))
    for i in range(RECORDED):
        outbox.capture("visit-0001", NIK, Modality.FINGER, "right_index", quality=80,
                       sample=b"sample %d" % i, item_key=f"capture {i}")  # fmt: skip
    js = JetStreamLosingCancellations()
    flushing = asyncio.create_task(outbox.flush(js))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    flushing.cancel()
    done, _ = await asyncio.wait({flushing}, timeout=5)
    assert flushing in done and flushing.cancelled()
    assert 0 < js.published < RECORDED
    assert outbox.unsent() == RECORDED - js.published  # every acknowledged one marked sent
    outbox.close()


async def test_a_task_whose_cancellation_was_lost_is_still_told_to_stop() -> None:
    reply: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    stopped_at: list[str] = []

    async def a_loop_that_asks() -> None:
        await asyncio.wait_for(reply, 5)  # on 3.11: returns the reply, the cancellation lost
        stopped_at.append("before asking")
        stop_if_cancelled()
        stopped_at.append("after asking")

    task = asyncio.create_task(a_loop_that_asks())
    await asyncio.sleep(0)
    reply.set_result("feedback")
    task.cancel()
    [outcome] = await asyncio.gather(task, return_exceptions=True)
    assert isinstance(outcome, asyncio.CancelledError)
    if sys.version_info < (3, 12):
        assert stopped_at == ["before asking"]  # the wait lost it; the question caught it
    else:
        assert stopped_at == []  # the wait itself raised


async def test_a_task_never_cancelled_goes_on() -> None:
    stop_if_cancelled()  # raises nothing


async def test_a_timeout_that_expired_and_was_handled_does_not_count_as_a_cancellation() -> None:
    try:
        async with asyncio.timeout(0.01):
            await asyncio.sleep(1)
    except TimeoutError:
        pass
    stop_if_cancelled()  # raises nothing


async def test_waiting_for_recording_gives_up_on_time_though_a_request_lost_the_timeout() -> None:
    class RecordingNeverCatchesUp:
        losing = True

        async def consumer_info(self, stream: str, durable: str) -> Any:
            try:
                await asyncio.sleep(0.02)  # the timeout's cancellation lands here...
            except asyncio.CancelledError:
                if not self.losing:
                    raise
            return SimpleNamespace(num_pending=5, num_ack_pending=0)  # ...and is lost

    js = RecordingNeverCatchesUp()
    waiting = asyncio.create_task(recording_caught_up(js, patience=0.01))  # type: ignore[arg-type]
    done, _ = await asyncio.wait({waiting}, timeout=5)
    js.losing = False  # let a waiter that never gave up be cancelled now
    if not done:
        waiting.cancel()
    assert waiting in done
    assert isinstance(waiting.exception(), TimeoutError)
