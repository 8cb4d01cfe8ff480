"""Disruptions during a simulated day: each service SIGKILLed and restarted, nats-server and
PostgreSQL restarted, one after another at seeded random moments; with replicas, one replica of
each service; in a cluster, one nats-server node SIGKILLed and later restarted."""

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal

from contracts.streams import EVENTS
from tests.support.e2e_system import SERVICES, System, instance

Disruptions = dict[str, Callable[[], Awaitable[None]]]


@contextlib.asynccontextmanager
async def alongside(work: Coroutine[Any, Any, None]) -> AsyncIterator[asyncio.Task[None]]:
    """Disruptions running beside the day: if the day fails first, they are cancelled and done
    with before the system stops, so none restarts a process after it stopped."""
    task = asyncio.create_task(work)
    try:
        yield task
    finally:
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def disruptions(system: System) -> Disruptions:
    each: Disruptions = {
        f"kill {name}": (lambda name=name: system.kill_and_restart(name))  # type: ignore[misc]
        for name in SERVICES
    }
    each["restart nats-server"] = system.restart_nats
    each["restart postgres"] = system.restart_postgres
    return each


def replica_kills(system: System, seed: int) -> Disruptions:
    """One replica of each service, chosen by the seed, SIGKILLed and restarted."""
    rng = random.Random(seed)
    chosen = {name: rng.randrange(system.replicas) for name in SERVICES}
    return {
        f"kill {instance(name, replica)}": (
            lambda name=name, replica=replica: system.kill_and_restart(name, replica)  # type: ignore[misc]
        )
        for name, replica in chosen.items()
    }


async def disrupt(
    system: System, seed: int, done: list[str], planned: Disruptions | None = None
) -> None:
    rng = random.Random(seed)
    order = list((planned if planned is not None else disruptions(system)).items())
    rng.shuffle(order)
    for name, disruption in order:
        await asyncio.sleep(rng.uniform(0.2, 1.5))
        await disruption()
        done.append(name)


@dataclass
class Outage:
    """Which node went down, who led the stream before and after, and when (loop time)."""

    role: Literal["leader", "follower"]
    victim: str = ""
    leader_before: str = ""
    leader_after: str = ""
    killed_at: float = 0.0
    restarted_at: float = 0.0


async def node_outage(
    system: System, seed: int, outage: Outage, *, stream: str = EVENTS.name
) -> None:
    """SIGKILL the node that leads `stream` (or one that does not) at a seeded moment, keep it
    down a few seconds while the day goes on, then restart it and wait until it caught up."""
    rng, nodes, loop = random.Random(seed), system.cluster.nodes, asyncio.get_running_loop()
    await asyncio.sleep(rng.uniform(1.0, 5.0))
    leader = await system.nats_leader(stream)
    followers = [i for i in range(len(nodes)) if i != leader]
    victim = leader if outage.role == "leader" else rng.choice(followers)
    await system.kill_nats_node(victim)
    outage.killed_at = loop.time()
    outage.victim = str(nodes[victim].server_name)
    outage.leader_before = str(nodes[leader].server_name)
    outage.leader_after = str(nodes[await system.nats_leader(stream)].server_name)
    await asyncio.sleep(rng.uniform(3.0, 6.0))
    await system.restart_nats_node(victim)
    outage.restarted_at = loop.time()
