"""The same simulated day while every service is SIGKILLed and restarted in turn, and
nats-server and PostgreSQL are each restarted once: the same figures, nothing lost or doubled."""

from collections.abc import AsyncIterator

import pytest

from ots.simulate.day import simulate_day
from ots.simulate.observed import differences
from tests.support.e2e_chaos import alongside, disrupt, disruptions
from tests.support.e2e_system import System, figures_now, running_system

SEED = 6


@pytest.fixture
async def system() -> AsyncIterator[System]:
    async with running_system() as running:
        yield running


@pytest.mark.timeout(170)
async def test_a_day_survives_every_process_restarting_with_the_same_figures(
    system: System,
) -> None:
    done: list[str] = []
    async with alongside(disrupt(system, SEED, done)) as chaos:
        result = await simulate_day(system.settings, SEED, patience=120)
        await chaos

    assert sorted(done) == sorted(disruptions(system))
    assert result.differences == []
    assert len(result.worked) == len(result.scenario.visits)
    assert differences(result.expected, await figures_now(system, result.expected)) == []
