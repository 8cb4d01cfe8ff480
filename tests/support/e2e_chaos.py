"""Disruptions during a simulated day: each service SIGKILLed and restarted, nats-server and
PostgreSQL restarted, one after another at seeded random moments."""

import asyncio
import random
from collections.abc import Awaitable, Callable

from tests.support.e2e_system import SERVICES, System


def disruptions(system: System) -> dict[str, Callable[[], Awaitable[None]]]:
    each: dict[str, Callable[[], Awaitable[None]]] = {
        f"kill {name}": (lambda name=name: system.kill_and_restart(name))  # type: ignore[misc]
        for name in SERVICES
    }
    each["restart nats-server"] = system.restart_nats
    each["restart postgres"] = system.restart_postgres
    return each


async def disrupt(system: System, seed: int, done: list[str]) -> None:
    rng = random.Random(seed)
    planned = list(disruptions(system).items())
    rng.shuffle(planned)
    for name, disruption in planned:
        await asyncio.sleep(rng.uniform(0.2, 1.5))
        await disruption()
        done.append(name)
