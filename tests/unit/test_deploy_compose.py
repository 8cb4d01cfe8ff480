"""deploy/compose.yaml: valid against the Compose Specification, and wired as OTS needs it:
NATS with JetStream on disk and fsync always, a setup job before the services, health checks,
monitoring provisioned, secrets asked for rather than written down, the device gateways' only
way in a TLS listener, Prometheus not stoppable over HTTP."""

import importlib.util
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from ots_runtime.embedded import nats_server_binary
from ots_runtime.settings import Settings
from tests.support.deploy_tools import (
    DEPLOY,
    REPO,
    compose_mounts,
    load_yaml,
    require_binary,
    run,
)

COMPOSE = DEPLOY / "compose.yaml"
NATS_CONF = DEPLOY / "nats" / "nats.conf"
SERVICES = ("intake", "dispatch", "recording", "metrics")
SECRET = re.compile(r"PASSWORD|PEPPER|KEYS?$|TOKEN")
REQUIRED_VARIABLE = re.compile(r"\$\{(\w+):\?[^}]+\}")
DEV_CERT_DIR = "./nats/tls"  # made by deploy/nats/dev_cert.py, never committed


def compose() -> dict[str, Any]:
    document: dict[str, Any] = load_yaml(COMPOSE)
    return document


def service(name: str) -> dict[str, Any]:
    found: dict[str, Any] = compose()["services"][name]
    return found


def test_compose_follows_the_compose_specification() -> None:
    checker = require_binary("check-jsonschema", "PyPI check-jsonschema, in requirements.lock")
    run(checker, "--builtin-schema", "vendor.compose-spec", str(COMPOSE))


def test_every_file_compose_mounts_is_in_the_repository() -> None:
    for name, spec in compose()["services"].items():
        for source in compose_mounts(spec):
            if source.startswith(".") and source != DEV_CERT_DIR:
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"


def test_the_development_certificate_is_made_by_a_script_and_never_committed() -> None:
    assert DEV_CERT_DIR in compose_mounts(service("nats"))
    assert (DEPLOY / "nats" / "dev_cert.py").is_file()
    ignored = (REPO / ".gitignore").read_text().splitlines()
    assert "deploy/nats/tls/" in ignored, "git would commit the development certificate"


def _dev_cert() -> Any:
    spec = importlib.util.spec_from_file_location("dev_cert", DEPLOY / "nats" / "dev_cert.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_development_certificate_names_its_hosts_and_keeps_no_authority_key(
    tmp_path: Path,
) -> None:
    _dev_cert().main(["--out", str(tmp_path), "--host", "ots.example.org"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ca.crt", "tls.crt", "tls.key"]
    assert (tmp_path / "tls.key").stat().st_mode & 0o077 == 0  # the owner's alone
    ca = x509.load_pem_x509_certificate((tmp_path / "ca.crt").read_bytes())
    server = x509.load_pem_x509_certificate((tmp_path / "tls.crt").read_bytes())
    server.verify_directly_issued_by(ca)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"localhost", "nats", "ots.example.org"} <= set(names.get_values_for_type(x509.DNSName))
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_gateways_reach_nats_only_on_its_tls_websocket_listener() -> None:
    """The host sees the WebSocket listener, whose `tls` block makes it TLS-only, and not the
    plaintext client port; the certificate is read from where compose mounts it."""
    nats = service("nats")
    config = NATS_CONF.read_text()
    websocket = re.search(r"^websocket\s*\{(.*?)^\}", config, re.MULTILINE | re.DOTALL)
    assert websocket is not None
    port = re.search(r"^\s*port:\s*(\d+)", websocket.group(1), re.MULTILINE)
    assert port is not None and nats["ports"] == [f"{port.group(1)}:{port.group(1)}"]
    assert "no_tls" not in websocket.group(1)
    certs = compose_mounts(nats)[DEV_CERT_DIR]
    files = re.findall(r'(cert_file|key_file):\s*"([^"]+)"', websocket.group(1))
    assert dict(files) == {"cert_file": f"{certs}/tls.crt", "key_file": f"{certs}/tls.key"}
    gateways = (DEPLOY / "nats" / "gateways.conf").read_text()
    assert gateways.count('allowed_connection_types: ["WEBSOCKET"]') == gateways.count("user:")


def test_prometheus_cannot_be_shut_down_or_reloaded_over_http() -> None:
    flags = service("prometheus")["command"]
    assert not {"--web.enable-lifecycle", "--web.enable-admin-api"} & set(flags)


def test_nats_runs_jetstream_on_its_volume_with_fsync_always() -> None:
    nats = service("nats")
    mounts = compose_mounts(nats)
    config_path = mounts["./nats/nats.conf"]
    assert nats["command"][:2] == ["--config", config_path]
    assert mounts["./nats/gateways.conf"] == str(Path(config_path).with_name("gateways.conf"))
    config = NATS_CONF.read_text()
    jetstream = re.search(r"jetstream\s*\{([^}]*)\}", config)
    assert jetstream is not None
    assert re.search(r"^\s*sync_interval:\s*always\s*$", jetstream.group(1), re.MULTILINE)
    store = re.search(r'store_dir:\s*"?([^"\s]+)', jetstream.group(1))
    assert store is not None and store.group(1).startswith(mounts["nats-data"])
    assert "js-enabled-only" in " ".join(nats["healthcheck"]["test"])


def test_nats_server_accepts_the_config_and_refuses_it_without_credentials(
    tmp_path: Path,
) -> None:
    """The shipped config, beside gateways.conf, with a development certificate where compose
    mounts one."""
    binary = nats_server_binary()
    certs = compose_mounts(service("nats"))[DEV_CERT_DIR]
    _dev_cert().make_certificate(tmp_path / "tls", ["localhost"])
    config = tmp_path / "nats.conf"
    config.write_text(NATS_CONF.read_text().replace(certs, str(tmp_path / "tls")))
    (tmp_path / "gateways.conf").write_text((DEPLOY / "nats" / "gateways.conf").read_text())
    test_config = [binary, "-t", "-c", str(config)]
    passwords = set(re.findall(r"\$\{?(OTS_NATS_\w+_PASSWORD)", COMPOSE.read_text()))
    env = {**os.environ, **{name: "s3cretForTheTest" for name in passwords}}
    subprocess.run(test_config, env=env, check=True, capture_output=True, timeout=30)
    bare = {k: v for k, v in os.environ.items() if not k.startswith("OTS_NATS_")}
    refused = subprocess.run(test_config, env=bare, capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0 and "OTS_NATS_" in refused.stdout + refused.stderr


def test_every_service_signs_in_to_nats_as_its_own_user() -> None:
    users = {name: service(name)["environment"]["OTS_NATS_USER"] for name in SERVICES}
    assert users == {name: name for name in SERVICES}
    assert service("setup")["environment"]["OTS_NATS_USER"] == "admin"


def test_setup_migrates_and_provisions_streams_once_nats_and_postgres_are_healthy() -> None:
    setup = service("setup")
    script = " ".join([*setup["entrypoint"], *setup["command"]])
    assert "ots migrate" in script and "ots streams" in script
    assert script.index("ots migrate") < script.index("ots streams")
    assert setup["restart"] == "no"
    assert {name: dep["condition"] for name, dep in setup["depends_on"].items()} == {
        "nats": "service_healthy",
        "postgres": "service_healthy",
    }


@pytest.mark.parametrize("name", SERVICES)
def test_a_service_starts_after_setup_and_is_health_checked(name: str) -> None:
    spec = service(name)
    assert spec["command"] == ["serve", name]
    assert spec["image"] == service("setup")["image"]
    assert spec["depends_on"]["setup"]["condition"] == "service_completed_successfully"
    assert spec["depends_on"]["nats"]["condition"] == "service_healthy"
    assert spec["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert spec["healthcheck"]["test"] == ["CMD", "python", "/opt/ots/healthcheck.py"]
    port = Settings.model_fields[f"{name}_port"].default
    assert spec["environment"][f"OTS_{name.upper()}_PORT"] == str(port)
    assert f"{port}:{port}" in spec["ports"]
    assert spec["read_only"] is True


def test_prometheus_and_grafana_are_provisioned_from_deploy() -> None:
    prometheus = compose_mounts(service("prometheus"))
    assert prometheus["./prometheus/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    assert prometheus["./prometheus/alerts.yml"] == "/etc/prometheus/alerts.yml"
    grafana = service("grafana")
    assert grafana["depends_on"]["prometheus"]["condition"] == "service_healthy"
    source = load_yaml(DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yaml")
    assert source["datasources"][0]["url"] == "http://prometheus:9090"


def test_secrets_are_asked_for_never_written_down() -> None:
    for name, spec in compose()["services"].items():
        for variable, value in (spec.get("environment") or {}).items():
            if SECRET.search(variable):
                assert REQUIRED_VARIABLE.fullmatch(str(value)), f"{name}: {variable}"
    url = service("intake")["environment"]["OTS_DATABASE_URL"]
    assert REQUIRED_VARIABLE.search(url), "the database password comes from the environment"


def test_the_example_env_file_names_every_variable_compose_requires() -> None:
    required = set(REQUIRED_VARIABLE.findall(COMPOSE.read_text()))
    example = (DEPLOY / ".env.example").read_text()
    listed = set(re.findall(r"^(\w+)=", example, re.MULTILINE))
    assert required <= listed


def test_the_console_reaches_dispatch_and_metrics_on_their_ports() -> None:
    environment = service("intake")["environment"]
    for variable, name in (("OTS_DISPATCH_URL", "dispatch"), ("OTS_METRICS_URL", "metrics")):
        port = service(name)["environment"][f"OTS_{name.upper()}_PORT"]
        assert environment[variable] == f"http://{name}:{port}"
