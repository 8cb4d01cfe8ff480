"""A simulated day across the four services as separate processes on real NATS and PostgreSQL."""

import asyncio
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from datetime import date

import pytest

from ots.simulate.day import DayResult, simulate_day
from ots.simulate.expected import DEAD_LETTERS
from ots.simulate.scenario import build
from ots_runtime.embedded import free_port
from services.intake.domain.nik import parse_nik
from tests.support.deploy_dashboards import dashboard_queries
from tests.support.e2e_prometheus import prometheus_scraping, query, scraped_value
from tests.support.e2e_system import System, running_system

SEED = 6
SHORT_WINDOWS = {"$__rate_interval": "30s", "$__interval": "5s", "$__range": "10m"}
SHORT_WINDOWS_SECONDS = 5
# Panels that stay empty on a clean day: they show only errors, refusals and absences.
SHOW_ONLY_TROUBLE = {
    "OTS operations/Server errors (5xx) by service",
    "OTS operations/Client errors (4xx) by service and status",
    "OTS operations/Dead letters by service and subject",
    "OTS operations/Rejected captures by reason",
    "OTS operations/Rejected captures by reason, selected range",
    "OTS operations/Plan failures",
    "OTS overview/Why visits went unassigned",
}


@pytest.fixture
async def system() -> AsyncIterator[System]:
    async with running_system() as running:
        yield running


def total(result: DayResult, prefix: str) -> int:
    return sum(v for k, v in result.expected.items() if k.startswith(prefix))


@pytest.mark.timeout(150)
async def test_a_simulated_day_ends_completed_and_counted_exactly_once(system: System) -> None:
    async with prometheus_scraping(system.root, system.ports) as prometheus:
        result = await simulate_day(system.settings, SEED, patience=60)

        assert result.differences == []
        assert len(result.worked) == len(result.scenario.visits), "every visit was scheduled"
        assert result.recaptures_received == result.recaptures_expected > 0
        assert result.reported[DEAD_LETTERS] == 0
        delivered = total(result, "ots_services_delivered_total")
        promql = "sum(ots_services_delivered_total)"
        assert await scraped_value(prometheus, promql, delivered) == delivered
        recorded = total(result, "ots_recordings_completed_total")
        promql = "sum(ots_recordings_completed_total)"
        assert await scraped_value(prometheus, promql, recorded) == recorded
        await asyncio.sleep(SHORT_WINDOWS_SECONDS)  # let rates see more than one scrape
        empty = [name for name, promql in dashboard_queries(SHORT_WINDOWS)
                 if not await query(prometheus, promql)]  # fmt: skip
        assert set(empty) <= SHOW_ONLY_TROUBLE


def test_the_same_seed_gives_the_same_day_of_valid_jember_residents() -> None:
    today = date(2026, 12, 2)
    day, again = build(SEED, today), build(SEED, today)

    assert [v.body for v in day.visits] == [v.body for v in again.visits]
    assert day.sunday.weekday() == 6 and day.day.weekday() < 5
    niks = [p.nik for v in day.visits for p in v.people]
    assert len(niks) == len(set(niks))
    assert all(parse_nik(nik, today).kecamatan_code.startswith("3509") for nik in niks)


@pytest.mark.timeout(150)
async def test_ots_demo_runs_the_system_simulates_a_day_and_exits_zero() -> None:
    with tempfile.TemporaryDirectory(prefix="ots-demo-") as directory:
        os.chmod(directory, 0o755)
        ports = {name: free_port() for name in ("intake", "dispatch", "recording", "metrics")}
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTS_")} | {
            "OTS_DATA_DIR": f"{directory}/.ots", "OTS_LOG_LEVEL": "WARNING",
            "OTS_EMBEDDED_NATS_PORT": str(free_port()),
            "OTS_EMBEDDED_POSTGRES_PORT": str(free_port()),
            **{f"OTS_{name.upper()}_PORT": str(port) for name, port in ports.items()},
        }  # fmt: skip
        demo = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ots.cli", "demo", "--seed", str(SEED), env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(demo.communicate(), 140)

    assert demo.returncode == 0
    assert "every figure matches" in out.decode()
