"""What the running system reports: metrics' Prometheus text and report, and the DLQ's size."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nats.js import JetStreamContext
from prometheus_client.parser import text_string_to_metric_families

from contracts.streams import DLQ
from ots.simulate.expected import DEAD_LETTERS, REJECTED_ANY, Figures, report_row, series
from ots.simulate.http import Service
from ots_gateway.cancellation import unless_cancelled

T = TypeVar("T")
TRACKED = frozenset({
    "ots_visits_requested_total", "ots_visits_completed_total", "ots_services_delivered_total",
    "ots_recordings_completed_total", "ots_capture_quality_count",
    "ots_request_to_completion_seconds_count", "ots_captures_rejected_total",
})  # fmt: skip


def prometheus_figures(text: str) -> Figures:
    figures = Figures()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in TRACKED:
                figures[series(sample.name, sample.labels)] += int(sample.value)
            if sample.name == "ots_captures_rejected_total":
                figures[REJECTED_ANY] += int(sample.value)
    return figures


async def patiently(attempt: Callable[[], Awaitable[T]], patience: float = 90.0) -> T:
    """NATS calls while nats-server may be restarting."""
    deadline = asyncio.get_running_loop().time() + patience
    while True:
        try:
            return await unless_cancelled(attempt())
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)


async def dead_letters(js: JetStreamContext) -> int:
    info = await patiently(lambda: js.stream_info(DLQ.name))
    return int(info.state.messages)


async def observe(metrics: Service, js: JetStreamContext, year: int) -> Figures:
    figures = prometheus_figures((await metrics.call("GET", "/metrics")).text)
    params = {"from": year, "to": year, "group_by": "service_type"}
    for row in (await metrics.json("GET", "/v1/reports/services", params=params))["rows"]:
        figures[report_row(row["service_type"])] += row["services"]
    figures[DEAD_LETTERS] = await dead_letters(js)
    return figures


def growth(after: Figures, before: Figures) -> Figures:
    return Figures({k: after[k] - before[k] for k in set(after) | set(before)})


def differences(expected: Figures, grown: Figures) -> list[str]:
    keys = sorted(set(expected) | {k for k, v in grown.items() if v})
    return [
        f"{k}: sent {expected[k]}, reported {grown[k]}" for k in keys if expected[k] != grown[k]
    ]
