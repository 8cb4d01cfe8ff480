"""The simulated tablet's recapture reader stops when closed, even if its cancellation is lost."""

import asyncio
import sys
from typing import Any

import pytest

from ots.simulate import recaptures
from ots.simulate.recaptures import RecaptureInbox


async def test_python_3_11_wait_for_can_lose_a_cancellation_that_arrives_with_its_reply() -> None:
    """The hazard itself: nats-py's requests wait with `asyncio.wait_for`."""
    reply: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    waiting = asyncio.create_task(asyncio.wait_for(reply, 5))
    await asyncio.sleep(0)
    reply.set_result("feedback")
    waiting.cancel()
    [outcome] = await asyncio.gather(waiting, return_exceptions=True)
    if sys.version_info < (3, 12):
        assert outcome == "feedback"  # the task was cancelled, yet it goes on
    else:
        assert isinstance(outcome, asyncio.CancelledError)


async def test_a_closed_inbox_stops_reading_though_its_read_swallowed_the_cancellation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads = 0

    async def read_that_loses_a_cancellation(js: Any, device_id: str) -> None:
        nonlocal reads
        reads += 1
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            return None  # as `wait_for` does when the reply came with the cancellation
        return None

    monkeypatch.setattr(recaptures, "read_feedback", read_that_loses_a_cancellation)
    inbox = RecaptureInbox(js=None, device_id="sim-gateway-1")  # type: ignore[arg-type]
    await inbox.open()
    await asyncio.sleep(0.01)
    closing = asyncio.create_task(inbox.close())
    closed, _ = await asyncio.wait({closing}, timeout=5)
    assert closing in closed
    assert inbox.task is not None and inbox.task.done()
    reads_when_closed = reads
    await asyncio.sleep(recaptures.POLL_SECONDS * 2)
    assert reads == reads_when_closed
