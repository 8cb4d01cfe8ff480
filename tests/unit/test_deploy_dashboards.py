"""deploy/grafana: two provisioned dashboards that open ready to use, on the provisioned data
source, whose every query is valid PromQL over metrics the services expose."""

import csv
from pathlib import Path
from typing import Any

import pytest

from tests.support.deploy_dashboards import (
    GRAFANA_DURATIONS,
    dashboard_files,
    dashboard_queries,
    load_dashboards,
    panels,
)
from tests.support.deploy_metrics import exposed_metric_names, metric_names
from tests.support.deploy_tools import (
    DEPLOY,
    REPO,
    compose_mounts,
    load_yaml,
    require_binary,
    run,
    yaml_module,
)

GRAFANA = DEPLOY / "grafana"
TITLES = {"ots-overview": "OTS overview", "ots-operations": "OTS operations"}


def data_source_uid() -> str:
    provisioned = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yaml")
    (source,) = provisioned["datasources"]
    assert source["type"] == "prometheus"
    return str(source["uid"])


def by_uid() -> dict[str, dict[str, Any]]:
    return {dashboard["uid"]: dashboard for dashboard in load_dashboards()}


def metrics_of(dashboard: dict[str, Any]) -> set[str]:
    return {
        name
        for panel in panels(dashboard)
        for target in panel.get("targets", [])
        for name in metric_names(target["expr"])
    }


def test_the_two_dashboards_are_there_with_fixed_uids_and_titles() -> None:
    assert {p.stem for p in dashboard_files()} == set(TITLES)
    assert {uid: d["title"] for uid, d in by_uid().items()} == TITLES


@pytest.mark.parametrize("uid", sorted(TITLES))
def test_a_dashboard_opens_ready_to_use(uid: str) -> None:
    dashboard = by_uid()[uid]
    assert dashboard["time"]["from"].startswith("now") and dashboard["time"]["to"] == "now"
    assert dashboard["refresh"]
    assert dashboard["templating"]["list"] == []  # nothing to pick before the panels show
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels(dashboard):
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["w"] > 0 and grid["h"] > 0, panel["title"]
        assert panel["title"] and panel.get("description"), panel["title"]
        assert panel["targets"], panel["title"]


def test_no_two_panels_overlap() -> None:
    for dashboard in load_dashboards():
        cells: dict[tuple[int, int], str] = {}
        for panel in dashboard["panels"]:
            grid = panel["gridPos"]
            for x in range(grid["x"], grid["x"] + grid["w"]):
                for y in range(grid["y"], grid["y"] + grid["h"]):
                    assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                    cells[(x, y)] = panel["title"]


def test_every_panel_and_query_names_the_provisioned_data_source() -> None:
    uid = data_source_uid()
    for dashboard in load_dashboards():
        for panel in panels(dashboard):
            assert panel["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]
            for target in panel["targets"]:
                assert target["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]


def test_grafana_loads_the_dashboards_from_where_compose_mounts_them() -> None:
    provider = load_yaml(GRAFANA / "provisioning" / "dashboards" / "ots.yaml")["providers"][0]
    grafana = load_yaml(DEPLOY / "compose.yaml")["services"]["grafana"]
    mounts = compose_mounts(grafana)
    assert mounts["./grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert Path(home).parent.as_posix() == provider["options"]["path"]
    assert (GRAFANA / "dashboards" / Path(home).name).exists()


def test_the_overview_shows_delivery_waiting_and_capacity() -> None:
    used = metrics_of(by_uid()["ots-overview"])
    assert {
        "ots_services_delivered_total",
        "ots_request_to_completion_seconds_bucket",
        "ots_visits_open",
        "ots_team_utilisation_ratio",
    } <= used
    exprs = " ".join(e for name, e in dashboard_queries() if name.startswith("OTS overview/"))
    for grouping in ("venue_type", "kecamatan", "priority", "team"):
        assert f"sum by ({grouping})" in exprs or f"max by ({grouping}" in exprs, grouping


def test_operations_shows_requests_messages_lag_and_dead_letters() -> None:
    used = metrics_of(by_uid()["ots-operations"])
    assert {
        "ots_http_request_seconds_count",
        "ots_http_request_seconds_bucket",
        "ots_messages_handled_total",
        "ots_consumer_pending_messages",
        "ots_messages_dead_lettered_total",
        "ots_recording_rejected_total",
        "ots_captures_rejected_total",
    } <= used


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    """Each query becomes a recording rule, which promtool parses and type-checks."""
    queries = dashboard_queries()
    rules = [
        {"record": f"dashboard:query_{i}", "expr": expr} for i, (_, expr) in enumerate(queries)
    ]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml_module().safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    promtool = require_binary("promtool", "Debian: apt-get install prometheus")
    output = run(promtool, "check", "rules", str(path)).stdout
    assert f"SUCCESS: {len(queries)} rules found" in output


def test_every_query_reads_metrics_the_services_expose() -> None:
    exposed = exposed_metric_names()
    unknown = {name: sorted(metric_names(expr) - exposed) for name, expr in dashboard_queries()}
    assert {name: names for name, names in unknown.items() if names} == {}


def test_the_queries_are_ready_for_a_real_prometheus() -> None:
    queries = dashboard_queries({"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"})
    one_per_panel = sum(len(list(panels(d))) for d in load_dashboards())
    assert len(queries) == one_per_panel + 1  # the latency panel shows a p50 and a p95
    assert not [name for name, expr in queries if "$" in expr]
    per_year = dict(queries)["OTS overview/Services delivered per year"]
    assert "offset 1y" in per_year  # the panel's own minimum interval stands for $__interval


def test_kecamatan_codes_show_as_the_contract_names_them() -> None:
    with (REPO / "contracts" / "jember_kecamatan.csv").open() as f:
        names = {row["code"]: f"{row['name']} ({row['code']})" for row in csv.DictReader(f)}
    panel = next(
        p
        for p in panels(by_uid()["ots-overview"])
        if p["title"] == "Services delivered by kecamatan"
    )
    (override,) = [
        o for o in panel["fieldConfig"]["overrides"] if o["matcher"]["options"] == "Kecamatan"
    ]
    (mapping,) = override["properties"][0]["value"]
    assert {code: option["text"] for code, option in mapping["options"].items()} == names


def test_services_delivered_count_exactly_what_the_window_added(tmp_path: Path) -> None:
    """Two metrics replicas serve the same totals; one series grows from 5 to 7 within the hour,
    another appears (its first events) at 3: the hour delivered 2 + 3, not an extrapolation, and
    not 2 + 0 as increase() would say of a series it never saw at zero."""
    (query,) = [
        expr
        for name, expr in dashboard_queries({**GRAFANA_DURATIONS, "$__range": "1h"})
        if name == "OTS overview/Services delivered by venue"
    ]
    rules = tmp_path / "rules.yml"
    rules.write_text(
        yaml_module().safe_dump(
            {"groups": [{"name": "panel", "rules": [{"record": "delivered", "expr": query}]}]}
        )
    )
    grown = 'service_type="kk", venue_type="school", kecamatan="350921"'
    new = 'service_type="ktp_el_recording", venue_type="school", kecamatan="350901"'
    series = [
        {
            "series": f"ots_services_delivered_total{{{grown}, instance='{i}'}}",
            "values": "5x90 7x30",
        }
        for i in ("a", "b")
    ] + [
        {"series": f"ots_services_delivered_total{{{new}, instance='{i}'}}", "values": "_x100 3x20"}
        for i in ("a", "b")
    ]
    check = {
        "eval_time": "120m",
        "expr": "delivered",
        "exp_samples": [{"labels": 'delivered{venue_type="school"}', "value": 5}],
    }
    tests = tmp_path / "tests.yml"
    tests.write_text(
        yaml_module().safe_dump(
            {
                "rule_files": [str(rules)],
                "evaluation_interval": "1m",
                "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": [check]}],
            }
        )
    )
    promtool = require_binary("promtool", "Debian: apt-get install prometheus")
    run(promtool, "test", "rules", str(tests))
