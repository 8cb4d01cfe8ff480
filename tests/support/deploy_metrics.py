"""The metric names the services expose, from their own code, and the names a PromQL query uses."""

import importlib
import re
from collections.abc import Iterable
from functools import cache

from prometheus_client import Metric
from prometheus_client.registry import REGISTRY

# Each sample name a family of a type may show (prometheus_client's family names drop _total).
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "gauge": ("",),
    "info": ("_info",),
    "stateset": ("",),
    "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
    "unknown": ("",),
}
# The modules whose import registers metrics in prometheus_client's default registry.
REGISTERING_MODULES = (
    "ots_runtime.http",
    "ots_runtime.telemetry",
    "services.dispatch.planning",
    "services.recording.metrics",
)
# Series Prometheus itself writes for every target or rule.
SYNTHETIC = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped", "ALERTS"})


def sample_names(families: Iterable[Metric]) -> set[str]:
    return {f.name + suffix for f in families for suffix in SUFFIXES[f.type]}


@cache
def exposed_metric_names() -> frozenset[str]:
    """Every sample name some service's /metrics can show: each module that defines metrics is
    imported (registering them, with the process and platform collectors, in the default
    registry), and the metrics service's collector yields its families from an empty snapshot."""
    from services.metrics.collector import AggregatesCollector

    for module in REGISTERING_MODULES:
        importlib.import_module(module)
    names = sample_names(REGISTRY.collect()) | sample_names(AggregatesCollector().collect())
    return frozenset(names | SYNTHETIC)


KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
     "unless", "offset", "inf", "nan", "atan2"}
)  # fmt: skip
_STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_WORD = re.compile(r"(?<![\w:.$])([A-Za-z_:][\w:]*)(\s*\()?")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not its functions, keywords or labels)."""
    text = _STRING.sub('""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = _GROUPING.sub(" ", text)
    return {
        m.group(1)
        for m in _WORD.finditer(text)
        if m.group(2) is None and m.group(1) not in KEYWORDS
    }
