"""The same simulated day while every service is SIGKILLed and restarted in turn, and
nats-server and PostgreSQL are each restarted once: the same figures, nothing lost or doubled."""

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from contracts.jember import WIB
from ots.simulate.day import settled_figures, simulate_day, url
from ots.simulate.expected import Figures
from ots.simulate.http import Service
from ots.simulate.observed import differences
from ots_runtime.broker import connect
from tests.support.e2e_chaos import disrupt, disruptions
from tests.support.e2e_system import System, running_system

SEED = 6


@pytest.fixture
async def system() -> AsyncIterator[System]:
    async with running_system() as running:
        yield running


async def figures_now(system: System, wanted: Figures) -> Figures:
    """What metrics report from scratch, once everything has settled after the last restart."""
    assert system.settings.nats_url
    nc = await connect(system.settings.nats_url, name="e2e-check")
    metrics = Service(url(system.settings, "metrics"))
    try:
        year = datetime.now(WIB).year
        return await settled_figures(metrics, nc.jetstream(), year, Figures(), wanted, 60)
    finally:
        await metrics.aclose()
        await nc.close()


@pytest.mark.timeout(170)
async def test_a_day_survives_every_process_restarting_with_the_same_figures(
    system: System,
) -> None:
    done: list[str] = []
    chaos = asyncio.create_task(disrupt(system, SEED, done))
    result = await simulate_day(system.settings, SEED, patience=120)
    await chaos

    assert sorted(done) == sorted(disruptions(system))
    assert result.differences == []
    assert len(result.worked) == len(result.scenario.visits)
    assert differences(result.expected, await figures_now(system, result.expected)) == []
