"""A service's long-running work (consumers, relay, planner) restarted when it dies.

A task that raises outside its per-message path (a dead-letter publish during a NATS leader
election, an ack on a closed connection) would otherwise end silently while the service kept
answering ready. Here it is logged, counted, restarted with a growing delay, and reported as
not running meanwhile, which `/readyz` turns into 503.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ots_runtime.telemetry import WORKER_RESTARTS, WORKER_RUNNING

log = logging.getLogger(__name__)

Work = Callable[[asyncio.Event], Awaitable[None]]

FIRST_DELAY = 0.5
MAX_DELAY = 30.0
HEALTHY_AFTER = 60.0  # a run this long resets the delay: the next failure is a new incident


@dataclass
class Worker:
    name: str
    running: bool = False
    restarts: int = 0
    last_error: str = ""


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def supervise(service: str, worker: Worker, work: Work, stop: asyncio.Event) -> None:
    """Run `work(stop)` until `stop` is set, starting it again whenever it raises or returns."""
    loop = asyncio.get_running_loop()
    delay = FIRST_DELAY
    while not stop.is_set():
        started = loop.time()
        worker.running = True
        WORKER_RUNNING.labels(service, worker.name).set(1)
        try:
            await work(stop)
            if stop.is_set():
                break
            worker.last_error = "returned before the service stopped"
            log.error("%s/%s returned by itself; restarting in %.1f s", service, worker.name, delay)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            worker.last_error = f"{type(error).__name__}: {error}"
            log.exception("%s/%s failed; restarting in %.1f s", service, worker.name, delay)
        finally:
            worker.running = False
            WORKER_RUNNING.labels(service, worker.name).set(0)
        worker.restarts += 1
        WORKER_RESTARTS.labels(service, worker.name).inc()
        if loop.time() - started > HEALTHY_AFTER:
            delay = FIRST_DELAY
        await pause(stop, delay)
        delay = min(delay * 2, MAX_DELAY)
