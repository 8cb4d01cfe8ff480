"""The simulated day with two replicas of every service on the same durable consumers, alone,
with one replica of each SIGKILLed and restarted, and on a three-node JetStream cluster (streams
of three replicas) that loses a node, a follower or the leader of OTS_EVENTS, for a while:
the same figures, nothing lost or doubled."""

import asyncio
from typing import Literal

import pytest

from ots.simulate.day import DayResult, simulate_day
from ots.simulate.expected import DEAD_LETTERS
from ots.simulate.observed import differences
from tests.support.e2e_chaos import Outage, alongside, disrupt, node_outage, replica_kills
from tests.support.e2e_system import System, figures_now, running_system

SEED = 6
REPLICAS = 2


def assert_the_whole_day_counted_once(result: DayResult) -> None:
    assert result.differences == []
    assert len(result.worked) == len(result.scenario.visits), "every visit was scheduled"
    assert result.recaptures_received == result.recaptures_expected > 0
    assert result.reported[DEAD_LETTERS] == 0


async def assert_still_counted_once(system: System, result: DayResult) -> None:
    """Re-read from scratch once everything settled: nothing arrived late, twice or never."""
    assert differences(result.expected, await figures_now(system, result.expected)) == []


@pytest.mark.timeout(180)
async def test_two_replicas_of_every_service_count_a_day_exactly_once() -> None:
    async with running_system(replicas=REPLICAS) as system:
        result = await simulate_day(system.settings, SEED, patience=90)

        assert_the_whole_day_counted_once(result)
        await assert_still_counted_once(system, result)


@pytest.mark.timeout(240)
async def test_a_day_survives_one_replica_of_each_service_killed_and_restarted() -> None:
    done: list[str] = []
    async with running_system(replicas=REPLICAS) as system:
        planned = replica_kills(system, SEED)
        async with alongside(disrupt(system, SEED, done, planned)) as chaos:
            result = await simulate_day(system.settings, SEED, patience=120)
            await chaos

        assert sorted(done) == sorted(planned)
        assert_the_whole_day_counted_once(result)
        await assert_still_counted_once(system, result)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("role", ["follower", "leader"])
async def test_a_day_survives_a_cluster_node_killed_and_restarted(
    role: Literal["follower", "leader"],
) -> None:
    outage = Outage(role)
    async with (
        running_system(replicas=REPLICAS, cluster=True) as system,
        alongside(node_outage(system, SEED, outage)) as down,
    ):
        result = await simulate_day(system.settings, SEED, patience=120)
        day_ended = asyncio.get_running_loop().time()
        await down

        assert 0 < outage.killed_at < day_ended, "the node died while the day went on"
        assert outage.restarted_at > outage.killed_at
        assert (outage.victim == outage.leader_before) == (role == "leader"), outage
        assert outage.leader_after != outage.victim, outage
        assert_the_whole_day_counted_once(result)
        await assert_still_counted_once(system, result)
