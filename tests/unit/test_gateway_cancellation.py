"""A tablet's outbox stops sending when its task is cancelled, even if the publish that was
waiting lost the cancellation (Python 3.11's `asyncio.wait_for`), whether it was acknowledged
or JetStream was away, and loses nothing; the tablet's waits for its worklist and recapture
requests stop the same way, and the simulated day's waits keep their time limits."""

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nats.errors
import pytest

from contracts.enums import Modality
from ots.simulate.gateways import Gateway
from ots.simulate.progress import Progress
from ots.simulate.routes import recording_caught_up
from ots_gateway import connection, day
from ots_gateway.cancellation import stop_if_cancelled
from ots_gateway.keys import DeviceKey
from ots_gateway.outbox import Backoff, Outbox

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


class JetStreamAway:
    """No responders to every publish, after a moment; a publish cancelled meanwhile raises
    that all the same, as nats-py's request does on Python 3.11 when the status arrives in the
    same turn as the cancellation."""

    def __init__(self) -> None:
        self.tried, self.losing = 0, True

    async def publish(self, subject: str, body: bytes, **options: Any) -> None:
        self.tried += 1
        try:
            await asyncio.sleep(0.005)
        except asyncio.CancelledError:
            if not self.losing:
                raise
        raise nats.errors.NoRespondersError


async def test_a_cancelled_flush_stops_while_jetstream_is_away_though_the_cancellation_was_lost(
    tmp_path: Path,
) -> None:
    outbox = Outbox(tmp_path / "outbox.db", DEVICE, DeviceKey.load_or_create(tmp_path / "key"))
    for i in range(3):
        outbox.capture("visit-0001", NIK, Modality.FINGER, "right_index", quality=80,
                       sample=b"sample %d" % i, item_key=f"capture {i}")  # fmt: skip
    js = JetStreamAway()
    flushing = asyncio.create_task(
        outbox.flush(js, backoff=Backoff(first=0.001, most=0.001))  # type: ignore[arg-type]
    )
    await asyncio.sleep(0.05)
    flushing.cancel()
    done, _ = await asyncio.wait({flushing}, timeout=5)
    js.losing = False  # let a flush that never stopped be cancelled now
    if not done:
        flushing.cancel()
        await asyncio.wait({flushing}, timeout=5)
    assert flushing in done and flushing.cancelled()
    assert js.tried > 1  # it did wait for JetStream, trying again
    assert outbox.unsent() == 3  # nothing was acknowledged, nothing marked sent
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


class RecordingLosingTheTimeout:
    """Recording never catches up; a request cancelled meanwhile returns its answer, or fails
    (NATS restarting), all the same: the timeout's cancellation is lost."""

    def __init__(self, fails: bool) -> None:
        self.fails, self.losing = fails, True

    async def consumer_info(self, stream: str, durable: str) -> Any:
        try:
            await asyncio.sleep(0.02)  # the timeout's cancellation lands here...
        except asyncio.CancelledError:
            if not self.losing:
                raise
        if self.fails:
            raise nats.errors.ConnectionClosedError  # ...and is lost in a failure retried 90 s
        return SimpleNamespace(num_pending=5, num_ack_pending=0)  # ...and is lost


async def waiting_for(js: RecordingLosingTheTimeout) -> tuple["asyncio.Task[None]", set[Any]]:
    """The wait for recording with a patience of 10 ms, and whether it ended within 5 s."""
    waiting = asyncio.create_task(recording_caught_up(js, patience=0.01))  # type: ignore[arg-type]
    done, _ = await asyncio.wait({waiting}, timeout=5)
    js.losing = False  # let a waiter that never gave up be cancelled now
    if not done:
        waiting.cancel()
    return waiting, done


async def test_waiting_for_recording_gives_up_on_time_though_a_request_lost_the_timeout() -> None:
    waiting, done = await waiting_for(RecordingLosingTheTimeout(fails=False))
    assert waiting in done
    assert isinstance(waiting.exception(), TimeoutError)


async def test_waiting_for_recording_gives_up_on_time_though_a_failed_request_lost_it() -> None:
    waiting, done = await waiting_for(RecordingLosingTheTimeout(fails=True))
    assert waiting in done
    assert isinstance(waiting.exception(), TimeoutError)


async def a_view_read_losing_the_cancellation(js: Any, device_id: str) -> None:
    """Nothing in the view, after a long wait (no coverage); a read cancelled meanwhile returns
    at once all the same."""
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(10)


class Connected:
    def jetstream(self) -> None:
        return None


async def cancelled_within_a_second(work: Any) -> bool:
    task = asyncio.create_task(work)
    await asyncio.sleep(0.05)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=1.5)
    if not done:  # one that never stopped: its read may let a cancellation through now
        task.cancel()
        await asyncio.wait({task}, timeout=5)
    return task in done and task.cancelled()


async def test_a_tablet_waiting_for_its_worklist_stops_though_a_read_lost_the_cancellation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(day, "read_worklist", a_view_read_losing_the_cancellation)
    connecting = asyncio.get_running_loop().create_future()
    connecting.set_result(Connected())
    args = argparse.Namespace(worklist=None, device=DEVICE)
    assert await cancelled_within_a_second(day._worklist(args, connecting))  # type: ignore[arg-type]


async def test_a_tablet_waiting_for_recapture_requests_stops_though_a_read_lost_the_cancellation(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:  # fmt: skip
    monkeypatch.setattr(day, "read_feedback", a_view_read_losing_the_cancellation)
    outbox = Outbox(tmp_path / "outbox.db", DEVICE, DeviceKey.load_or_create(tmp_path / "key"))
    args = argparse.Namespace(device=DEVICE, recapture_wait=60.0, recapture_quality=90)
    try:
        assert await cancelled_within_a_second(day._recaptures(outbox, None, args, "visit-0001"))  # type: ignore[arg-type]
    finally:
        outbox.close()


async def test_a_tablet_trying_to_connect_stops_though_a_failed_attempt_lost_the_cancellation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def no_coverage(*servers: Any, **options: Any) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(10)
        raise nats.errors.NoServersError

    monkeypatch.setattr(nats, "connect", no_coverage)
    assert await cancelled_within_a_second(connection.connect("nats://nowhere:4222"))


async def test_a_simulated_tablet_waiting_for_recapture_requests_stops_though_the_wait_lost_it(
    tmp_path: Path,
) -> None:
    class InboxLosingCancellations:
        async def wait_for(self, keys: set[Any], patience: float) -> set[Any]:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(10)
            return set(keys)  # none came: the tablet would note it and capture again

    outbox = Outbox(tmp_path / "outbox.db", DEVICE, DeviceKey.load_or_create(tmp_path / "key"))
    gateway = Gateway(None, outbox, InboxLosingCancellations(), Progress())  # type: ignore[arg-type]
    try:
        assert await cancelled_within_a_second(gateway._await_requests("visit-0001", [], 1))
    finally:
        outbox.close()
