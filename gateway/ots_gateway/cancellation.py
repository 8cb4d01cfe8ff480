"""A task asked to stop stops, even where Python 3.11 lost the request on the way."""

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


def stop_if_cancelled() -> None:
    """Raises CancelledError if this task was asked to stop. Python 3.11's `asyncio.wait_for`,
    through which nats-py's requests and publishes wait, returns a reply that arrived in the same
    turn as the cancellation and drops the cancellation (fixed in 3.12); the request itself stays
    counted (`Task.cancelling`), so a loop that asks here after each such wait still stops."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def unless_cancelled(wait: Awaitable[T]) -> T:
    """What `wait` returns or raises, unless this task was asked to stop meanwhile: then
    CancelledError, whether a reply or an error came back with the request and dropped it. For
    reads, whose result may be dropped; a wait whose success must be kept first (a publish
    acknowledged, a connection made) asks `stop_if_cancelled` itself once that is done."""
    try:
        return await wait
    finally:
        stop_if_cancelled()
