"""The contract's Prometheus metrics, built at each scrape from a snapshot of the database.

Counters are the stored sums, so they survive restarts and never fall back; every series the
contract names is present from the first scrape (at zero where nothing happened yet).
"""

from collections import defaultdict
from collections.abc import Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from contracts.enums import Priority
from services.metrics.adapters.snapshot import Snapshot
from services.metrics.domain import catalogue as cat
from services.metrics.domain.batch import le_label


def _bare(name: str) -> str:
    return name.removesuffix("_total")


def counters(snapshot: Snapshot) -> Iterator[Metric]:
    for metric in cat.COUNTERS:
        family = CounterMetricFamily(_bare(metric.name), metric.help, labels=metric.labels)
        series = {k[1]: v for k, v in snapshot.counters.items() if k[0] == metric.name}
        if not metric.labels:
            series.setdefault((), 0.0)
        for reason in cat.REASONS_BY_METRIC.get(metric.name, ()):
            series.setdefault((reason,), 0.0)  # every reason a producer can give, as itself
        for labels, value in sorted(series.items()):
            family.add_metric(list(labels), value)
        yield family


def histograms(snapshot: Snapshot) -> Iterator[Metric]:
    for hist in cat.HISTOGRAMS:
        buckets: dict[str, dict[str, float]] = defaultdict(dict)
        for (metric, labels), value in snapshot.counters.items():
            if metric == f"{hist.name}_bucket":
                buckets[labels[0]][labels[1]] = value
        family = HistogramMetricFamily(hist.name, hist.help, labels=[hist.label])
        for label in sorted(set(buckets) | set(hist.values)):
            running, cumulative = 0.0, []
            for bound in (*hist.buckets, float("inf")):
                running += buckets.get(label, {}).get(le_label(bound), 0.0)
                cumulative.append((le_label(bound), running))
            total = snapshot.counters.get((f"{hist.name}_sum", (label,)), 0.0)
            family.add_metric([label], cumulative, total)
        yield family


def gauges(snapshot: Snapshot) -> Iterator[Metric]:
    open_visits = GaugeMetricFamily(
        "ots_visits_open",
        "Visits not yet completed or cancelled, by status and priority",
        labels=["status", "priority"],
    )
    for status in cat.OPEN_STATUSES:
        for priority in Priority:
            count = snapshot.open_visits.get((status.value, priority.value), 0)
            open_visits.add_metric([status.value, priority.value], count)
    yield open_visits
    utilisation = GaugeMetricFamily(
        "ots_team_utilisation_ratio",
        "Planned minutes (service and travel) over shift minutes, by team and day near today",
        labels=["team", "date"],
    )
    for (team, day), ratio in sorted(snapshot.utilisation.items()):
        utilisation.add_metric([team, day], ratio)
    yield utilisation
    yield from lag_gauges(snapshot)
    held = GaugeMetricFamily(
        "ots_stream_messages", "Messages a JetStream stream holds", labels=["stream"]
    )
    for stream, count in sorted(snapshot.stream_messages.items()):
        held.add_metric([stream], count)
    yield held


def lag_gauges(snapshot: Snapshot) -> Iterator[Metric]:
    kinds = {
        "pending": "Messages not yet delivered to the consumer",
        "ack_pending": "Messages delivered but not yet acknowledged",
        "redelivered": "Messages delivered more than once and not yet acknowledged",
    }
    for kind, help_text in kinds.items():
        family = GaugeMetricFamily(
            f"ots_consumer_{kind}_messages", help_text, labels=["stream", "consumer"]
        )
        for lag in snapshot.lags:
            family.add_metric([lag.stream, lag.consumer], getattr(lag, kind))
        yield family


class AggregatesCollector(Collector):
    """Serves the last snapshot; the /metrics endpoint refreshes it just before each scrape."""

    def __init__(self) -> None:
        self.snapshot = Snapshot()

    def collect(self) -> Iterator[Metric]:
        snapshot = self.snapshot
        yield from counters(snapshot)
        yield from histograms(snapshot)
        yield from gauges(snapshot)
