"""A real Prometheus (Debian's package) scrapes the metrics service and sees exact totals."""

import asyncio
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from nats.aio.client import Client

from ots_runtime.embedded import free_port
from ots_runtime.settings import Settings
from services.metrics.app import create_app
from tests.integration.test_metrics_support import a_day, drained, publish_shuffled
from tests.support.http_service import serving

INSTALL = "apt-get update && apt-get install -y prometheus"


def binary(name: str) -> str:
    """The Debian package's binary; CI must have it, a developer may skip."""
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else "")
    if not found:
        message = f"{name} is not installed (Debian: {INSTALL})"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@contextmanager
def prometheus_scraping(target: str, workdir: Path) -> Iterator[str]:
    port = free_port()
    config = workdir / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: ots-metrics\n"
        f"    static_configs: [{{targets: ['{target}']}}]\n"
    )
    process = subprocess.Popen(
        [binary("prometheus"), f"--config.file={config}",
         f"--storage.tsdb.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
         "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=(workdir / "prometheus.log").open("wb"),
    )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


async def query_until(prometheus: str, promql: str, want: float, within: float = 30.0) -> float:
    """The query's single value, polled until it equals `want` or time runs out."""
    deadline = asyncio.get_running_loop().time() + within
    value = float("nan")
    async with httpx.AsyncClient(base_url=prometheus, timeout=5) as client:
        while asyncio.get_running_loop().time() < deadline:
            try:
                response = await client.get("/api/v1/query", params={"query": promql})
                if response.status_code == 200:  # 503 "Service Unavailable" while it starts
                    result = response.json()["data"]["result"]
                    value = float(result[0]["value"][1]) if result else value
            except httpx.TransportError:
                pass  # still starting
            if value == want:
                return value
            await asyncio.sleep(0.25)
    return value


async def test_prometheus_scrapes_the_totals_a_promql_query_returns(
    settings: Settings, nc: Client, tmp_path: Path
) -> None:
    binary("prometheus")
    day = a_day(visits=25, seed=21)
    services = sum(v for (n, _), v in day.expected.items() if n == "ots_services_delivered_total")
    requested = sum(v for (n, _), v in day.expected.items() if n == "ots_visits_requested_total")
    async with serving(create_app(settings)) as client:
        await publish_shuffled(nc, day.events)
        await drained(nc)
        with prometheus_scraping(client.base_url.netloc.decode(), tmp_path) as prometheus:
            assert (
                await query_until(prometheus, "sum(ots_services_delivered_total)", services)
                == services
            )
            assert (
                await query_until(prometheus, "sum(ots_visits_requested_total)", requested)
                == requested
            )


async def test_promtool_finds_the_exposition_clean(settings: Settings, nc: Client) -> None:
    promtool = binary("promtool")
    day = a_day(visits=10, seed=22)
    async with serving(create_app(settings)) as client:
        await publish_shuffled(nc, day.events)
        await drained(nc)
        exposition = (await client.get("/metrics")).text
    checked = await asyncio.create_subprocess_exec(
        promtool, "check", "metrics", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    lint, _ = await checked.communicate(exposition.encode())
    assert checked.returncode == 0, lint.decode()
    assert lint.decode().strip() == ""
