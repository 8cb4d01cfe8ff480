"""A real Prometheus scraping the services every second, for end-to-end tests."""

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from ots_runtime.embedded import free_port
from tests.support.deploy_tools import require_binary


def prometheus_binary() -> str:
    """Under CI the scrape is part of the test; elsewhere a machine without Prometheus skips it."""
    return require_binary("prometheus", "Debian's prometheus package")


@contextlib.asynccontextmanager
async def prometheus_scraping(
    root: Path, service_ports: dict[str, int]
) -> AsyncIterator[httpx.AsyncClient]:
    """Jobs are named as in deploy/prometheus/prometheus.yml (`ots-<service>`)."""
    binary, port = prometheus_binary(), free_port()
    config = root / "prometheus.yml"
    jobs = "".join(
        f"  - job_name: ots-{service}\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{service_port}']}}]\n"
        for service, service_port in service_ports.items()
    )
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n" + jobs
    )
    log = (root / "prometheus.log").open("ab")
    process = await asyncio.create_subprocess_exec(
        binary, f"--config.file={config}", f"--storage.tsdb.path={root / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}", stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 15)


async def scraped_value(client: httpx.AsyncClient, promql: str, wanted: float) -> float:
    """The query's value once it equals `wanted`, or the last one seen after 30 seconds."""
    value = float("nan")
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(30):
            while value != wanted:
                with contextlib.suppress(httpx.TransportError):
                    response = await client.get("/api/v1/query", params={"query": promql})
                    if response.status_code == 200:  # 503 while Prometheus still starts
                        results = response.json().get("data", {}).get("result", [])
                        value = float(results[0]["value"][1]) if results else float("nan")
                await asyncio.sleep(0.5)
    return value


async def query(client: httpx.AsyncClient, promql: str) -> list[dict[str, object]]:
    """The instant query's series; a query Prometheus refuses fails the test with its error."""
    answer = (await client.get("/api/v1/query", params={"query": promql})).json()
    assert answer["status"] == "success", f"{promql}: {answer.get('error')}"
    result: list[dict[str, object]] = answer["data"]["result"]
    return result
