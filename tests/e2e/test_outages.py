"""A simulated day through a database failover and a NATS outage, longer than any retry
schedule: the same figures, no dead letter, nothing left in the work queue, and every
service ready again without having been restarted."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from ots.simulate.day import simulate_day
from ots.simulate.expected import DEAD_LETTERS
from ots.simulate.observed import differences
from ots_runtime.broker import connect
from tests.support.e2e_system import SERVICES, System, figures_now, running_system

SEED = 6
DATABASE_OUTAGE_SECONDS = 60
NATS_OUTAGE_SECONDS = 30
OUTAGE_STARTS_AFTER = 4.0  # requests are being accepted and planned by then


@pytest.fixture
async def system() -> AsyncIterator[System]:
    async with running_system() as running:
        yield running


async def postgres_away(system: System) -> None:
    await asyncio.to_thread(system.postgres.stop)
    await asyncio.sleep(DATABASE_OUTAGE_SECONDS)
    await asyncio.to_thread(system.postgres.start, fsync=False)


async def nats_away(system: System) -> None:
    await asyncio.to_thread(system.nats.stop)
    await asyncio.sleep(NATS_OUTAGE_SECONDS)
    await asyncio.to_thread(system.nats.start)


async def all_ready(system: System) -> dict[str, int]:
    async with httpx.AsyncClient() as client:
        return {
            name: (await client.get(f"http://127.0.0.1:{system.ports[name]}/readyz")).status_code
            for name in SERVICES
        }


async def held_in(system: System) -> dict[str, int]:
    """What is left after the day: the gateway work queue and the dead letters."""
    assert system.settings.nats_url
    nc = await connect(system.settings.nats_url, name="e2e-outage-check")
    try:
        js = nc.jetstream()
        return {s: (await js.stream_info(s)).state.messages for s in ("OTS_GATEWAY", "OTS_DLQ")}
    finally:
        await nc.close()


async def a_day_through(system: System, outage: Callable[[System], Awaitable[None]]) -> None:
    pids = {name: child.pid for name, child in system.children.items()}
    clock = asyncio.get_running_loop().time
    outage_began: list[float] = []

    async def later() -> None:
        await asyncio.sleep(OUTAGE_STARTS_AFTER)
        outage_began.append(clock())
        await outage(system)

    disruption = asyncio.create_task(later())
    result = await simulate_day(system.settings, SEED, patience=180)
    day_ended = clock()
    await disruption

    assert outage_began and outage_began[0] < day_ended, "the outage fell within the day"

    assert result.differences == []
    assert len(result.worked) == len(result.scenario.visits)
    assert result.reported[DEAD_LETTERS] == 0
    assert differences(result.expected, await figures_now(system, result.expected)) == []
    assert await held_in(system) == {"OTS_GATEWAY": 0, "OTS_DLQ": 0}
    assert await all_ready(system) == dict.fromkeys(SERVICES, 200)
    assert {name: child.pid for name, child in system.children.items()} == pids
    assert all(child.poll() is None for child in system.children.values()), "none restarted"


@pytest.mark.timeout(330)
async def test_a_day_with_the_database_away_for_a_minute_ends_with_every_figure_right(
    system: System,
) -> None:
    await a_day_through(system, postgres_away)


@pytest.mark.timeout(300)
async def test_a_day_with_nats_away_for_half_a_minute_ends_with_every_figure_right(
    system: System,
) -> None:
    await a_day_through(system, nats_away)
