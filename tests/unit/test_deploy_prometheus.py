"""deploy/prometheus: promtool accepts the config and the rules, the alerts pass their unit
tests, and every metric an alert reads is one the services expose."""

import re
from pathlib import Path
from typing import Any

from ots_runtime.settings import Settings
from tests.support.deploy_metrics import REGISTERING_MODULES, exposed_metric_names, metric_names
from tests.support.deploy_tools import DEPLOY, REPO, load_yaml, require_binary, run

PROMETHEUS = DEPLOY / "prometheus"
PROMTOOL_SOURCE = "Debian: apt-get install prometheus"
SERVICES = ("intake", "dispatch", "recording", "metrics")


def promtool() -> str:
    return require_binary("promtool", PROMTOOL_SOURCE)


def alert_rules() -> list[dict[str, Any]]:
    groups = load_yaml(PROMETHEUS / "alerts.yml")["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_promtool_accepts_the_config_and_the_rule_files_it_loads() -> None:
    output = run(promtool(), "check", "config", "prometheus.yml", cwd=PROMETHEUS).stdout
    assert "SUCCESS: 1 rule files found" in output


def test_promtool_accepts_the_alert_rules() -> None:
    run(promtool(), "check", "rules", "alerts.yml", cwd=PROMETHEUS)


def test_the_alerts_pass_their_unit_tests() -> None:
    output = run(promtool(), "test", "rules", "alerts_test.yml", cwd=PROMETHEUS).stdout
    assert "SUCCESS" in output


def test_every_alert_is_shown_firing_in_a_unit_test() -> None:
    tests = load_yaml(PROMETHEUS / "alerts_test.yml")["tests"]
    fired = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case["exp_alerts"]
    }
    assert {rule["alert"] for rule in alert_rules()} == fired


def test_the_alerts_cover_what_operators_must_hear_of() -> None:
    used = {rule["alert"]: metric_names(rule["expr"]) for rule in alert_rules()}
    assert "up" in used["OTSServiceDown"]
    assert "ots_consumer_pending_messages" in used["OTSConsumerLagGrowing"]
    assert "ots_messages_dead_lettered_total" in used["OTSMessagesDeadLettered"]
    assert "ots_visits_open" in used["OTSUrgentVisitUnassigned"]
    assert all(rule["labels"]["severity"] in ("critical", "warning") for rule in alert_rules())


def test_alerts_read_only_metrics_the_services_expose() -> None:
    exposed = exposed_metric_names()
    unknown = {
        rule["alert"]: sorted(metric_names(rule["expr"]) - exposed) for rule in alert_rules()
    }
    assert {alert: names for alert, names in unknown.items() if names} == {}


def test_each_service_is_a_scrape_job_on_its_port() -> None:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for service in SERVICES:
        port = Settings.model_fields[f"{service}_port"].default
        targets = jobs[f"ots-{service}"]["static_configs"][0]["targets"]
        assert targets == [f"{service}:{port}"]


def test_every_module_defining_metrics_is_counted_as_exposing_them() -> None:
    """A new module with prometheus_client metrics must join REGISTERING_MODULES, or the checks
    above would call its metrics unknown."""
    constructor = re.compile(r"\b(?:Counter|Gauge|Histogram|Summary|Info|Enum)\(\s*\"ots_")
    defining = {
        ".".join(path.relative_to(REPO).with_suffix("").parts)
        for root in ("ots_runtime", "services", "ots")
        for path in Path(REPO / root).rglob("*.py")
        if constructor.search(path.read_text())
    }
    assert defining <= set(REGISTERING_MODULES)
