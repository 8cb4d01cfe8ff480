"""The provisioned Grafana dashboards and their PromQL queries, ready to run on a Prometheus."""

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tests.support.deploy_tools import DEPLOY

DASHBOARDS = DEPLOY / "grafana" / "dashboards"
# What Grafana puts in place of its range variables; the end-to-end test may pass shorter ones.
GRAFANA_DURATIONS = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
_VARIABLE = re.compile(r"\$\{?(__\w+)\}?")

Dashboard = dict[str, Any]
Panel = dict[str, Any]


def dashboard_files() -> list[Path]:
    return sorted(DASHBOARDS.glob("*.json"))


def load_dashboards() -> list[Dashboard]:
    return [json.loads(path.read_text()) for path in dashboard_files()]


def panels(dashboard: Dashboard) -> Iterator[Panel]:
    """Every panel, those inside collapsed rows too, rows themselves excluded."""
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def substitute(expr: str, durations: Mapping[str, str]) -> str:
    def duration(match: re.Match[str]) -> str:
        return durations[f"${match.group(1)}"]

    return _VARIABLE.sub(duration, expr)


def dashboard_queries(durations: Mapping[str, str] = GRAFANA_DURATIONS) -> list[tuple[str, str]]:
    """("<dashboard title>/<panel title>", PromQL) for every query of every dashboard, Grafana's
    variables replaced by `durations` ($__interval by the panel's own minimum where it has one,
    as Grafana does); a panel's second and later queries add " [<refId>]" to the name."""
    queries = []
    for dashboard in load_dashboards():
        for panel in panels(dashboard):
            targets = [t for t in panel.get("targets", []) if t.get("expr")]
            for target in targets:
                name = f"{dashboard['title']}/{panel['title']}"
                if target is not targets[0]:
                    name += f" [{target['refId']}]"
                interval = target.get("interval") or panel.get("interval")
                own = {**durations, "$__interval": interval} if interval else durations
                queries.append((name, substitute(target["expr"], own)))
    return queries
