"""The Dockerfile: pinned dependencies then the package, an unprivileged user, a HEALTHCHECK
on /healthz; .dockerignore lets in exactly what it copies; the health check script itself."""

import fnmatch
import http.server
import importlib.util
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.deploy_tools import DEPLOY, REPO

DOCKERFILE = REPO / "Dockerfile"
HEALTHCHECK = DEPLOY / "docker" / "healthcheck.py"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def test_the_image_runs_as_an_unprivileged_user() -> None:
    users = [args for op, args in final_stage() if op == "USER"]
    assert users, "the final stage sets no USER: it would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    created = " ".join(args for op, args in final_stage() if op == "RUN")
    assert f"--uid {user}" in created or f"useradd {user}" in created


def test_the_image_checks_its_health_on_healthz() -> None:
    (healthcheck,) = [args for op, args in final_stage() if op == "HEALTHCHECK"]
    assert "/opt/ots/healthcheck.py" in healthcheck
    copied = [args for op, args in final_stage() if op == "COPY"]
    assert any(c.startswith("deploy/docker/healthcheck.py ") for c in copied)
    assert "/healthz" in HEALTHCHECK.read_text()


def test_dependencies_come_from_the_lock_then_the_package_itself() -> None:
    runs = [args for op, args in instructions() if op == "RUN"]
    installs = [r for r in runs if "pip install" in r]
    assert "--constraint requirements.lock" in installs[0]
    assert "pip install --no-deps ." in installs[1]
    assert any("pip check" in r for r in runs)
    (entrypoint,) = [args for op, args in final_stage() if op == "ENTRYPOINT"]
    assert entrypoint == '["ots"]'


def test_dockerignore_lets_in_exactly_what_the_dockerfile_copies() -> None:
    sources = [
        source
        for op, args in instructions()
        if op == "COPY" and not args.startswith("--from")
        for source in args.split()[:-1]
    ]
    for source in sources:
        assert (REPO / source).exists(), source
        assert not ignored(source), f"{source} is copied but .dockerignore leaves it out"
    for private in (".venv", ".ots", ".env", ".git", "deploy/.env", "tests"):
        assert ignored(private), private


def ignored(path: str) -> bool:
    """Docker's rule: the last matching line of .dockerignore decides ('!' lets a path back in)."""
    verdict = False
    lines = (REPO / ".dockerignore").read_text().splitlines()
    for line in (raw.strip() for raw in lines):
        if not line or line.startswith("#"):
            continue
        pattern = line.removeprefix("!").rstrip("/")
        parts = Path(path).parts
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatch(p, pattern) for p in prefixes):
            verdict = not line.startswith("!")
    return verdict


class Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def healthcheck(env: dict[str, str]) -> int:
    bare = {k: v for k, v in os.environ.items() if not k.startswith("OTS_")}
    result = subprocess.run(
        [sys.executable, str(HEALTHCHECK)], env={**bare, **env, "PYTHONPATH": str(REPO)},
        capture_output=True, timeout=30,
    )  # fmt: skip
    return result.returncode


def test_the_health_check_asks_the_served_service(health_server: http.server.HTTPServer) -> None:
    port = str(health_server.server_address[1])
    assert healthcheck({"OTS_SERVICE": "recording", "OTS_RECORDING_PORT": port}) == 0
    Health.status = 503
    try:
        assert healthcheck({"OTS_SERVICE": "recording", "OTS_RECORDING_PORT": port}) == 1
    finally:
        Health.status = 200


def test_the_health_check_fails_when_nothing_answers() -> None:
    assert healthcheck({"OTS_SERVICE": "metrics", "OTS_METRICS_PORT": "1"}) == 1


def test_the_health_check_finds_the_service_and_its_port(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("ots_healthcheck", HEALTHCHECK)
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    python, ots = "/opt/ots/bin/python", "/opt/ots/bin/ots"
    assert script.served_service([python, ots, "serve", "dispatch"]) == "dispatch"
    assert script.served_service(["/sbin/docker-init", "--", "ots", "serve", "intake"]) == "intake"
    assert script.served_service([python, ots, "migrate"]) is None
    assert script.served_service(["ots", "serve"]) is None
    monkeypatch.delenv("OTS_INTAKE_PORT", raising=False)
    assert script.port_of("intake") == 8080
    monkeypatch.setenv("OTS_INTAKE_PORT", "9999")
    assert script.port_of("intake") == 9999
