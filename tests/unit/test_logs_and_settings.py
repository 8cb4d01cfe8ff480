"""NIKs never reach a log line unmasked; production refuses to start unconfigured, and intake
without its own secret."""

import io
import logging
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from ots.embedded_env import RUNTIME_ENV, local_settings
from ots.registry import service
from ots_runtime.logs import JsonFormatter, mask_niks
from ots_runtime.settings import Settings
from services.intake.config import PLACEHOLDER, IntakeSettings
from tests.support import tokens as test_keys


def test_a_nik_in_a_log_message_is_masked() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.masking")
    logger.addHandler(handler)
    logger.warning("resident %s already in visit v-1", "3509015205900001")
    assert "************0001" in stream.getvalue()
    assert "3509015205900001" not in stream.getvalue()


def test_longer_digit_runs_are_not_mistaken_for_niks() -> None:
    assert mask_niks("seq 12345678901234567") == "seq 12345678901234567"
    assert mask_niks("a,3509015205900001,b") == "a,************0001,b"


def test_intake_in_production_refuses_the_placeholder_token_pepper() -> None:
    with pytest.raises(ValidationError, match="OTS_TOKEN_PEPPER"):
        IntakeSettings(env="production")
    assert IntakeSettings(env="production", token_pepper="a-real-secret-value").env == "production"


def test_production_requires_both_urls() -> None:
    with pytest.raises(ValidationError, match="OTS_NATS_URL"):
        Settings(env="production", nats_url="nats://n:4222")


def test_development_runs_on_the_defaults() -> None:
    assert Settings(env="development").intake_port == 8080


@pytest.fixture
def bare_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No OTS_ variable and no .env file: what a server started with nothing configured sees."""
    for name in [k for k in os.environ if k.startswith("OTS_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.usefixtures("bare_environment")
def test_nothing_configured_is_production_and_refuses_to_build() -> None:
    with pytest.raises(ValidationError, match="OTS_NATS_URL and OTS_DATABASE_URL are required"):
        Settings()
    with pytest.raises(ValidationError, match="OTS_TOKEN_PEPPER"):
        IntakeSettings()
    assert Settings.model_fields["env"].default == "production"
    assert IntakeSettings.model_fields["env"].default == "production"


@pytest.mark.usefixtures("bare_environment")
def test_explicit_development_builds_on_the_placeholders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTS_ENV", "development")
    assert Settings().env == "development"
    intake = IntakeSettings()
    assert intake.env == "development"
    assert intake.token_pepper == PLACEHOLDER


@pytest.mark.usefixtures("bare_environment")
def test_test_mode_brings_intakes_own_pepper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTS_ENV", "test")
    assert Settings().env == "test"
    with pytest.raises(ValidationError, match="OTS_TOKEN_PEPPER"):
        IntakeSettings()
    monkeypatch.setenv("OTS_TOKEN_PEPPER", "a-test-pepper")
    assert IntakeSettings().env == "test"


@pytest.fixture
def production_environment(bare_environment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What production gives every service: its URLs and the token public keys, no more."""
    for name, value in {
        "OTS_ENV": "production", "OTS_NATS_URL": "nats://nats:4222",
        "OTS_DATABASE_URL": "postgresql://db/ots", "OTS_TOKEN_PUBLIC_KEYS": test_keys.PUBLIC_KEYS,
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("production_environment")
def test_in_production_intake_refuses_to_start_without_its_pepper_while_metrics_needs_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    metrics, intake = service("metrics"), service("intake")
    assert metrics is not None and intake is not None
    assert metrics.create_app(local_settings("serve")).title == "OTS metrics"
    with pytest.raises(ValidationError, match="OTS_TOKEN_PEPPER must be set"):
        intake.create_app(local_settings("serve"))
    monkeypatch.setenv("OTS_TOKEN_PEPPER", "a-real-secret-value")
    assert intake.create_app(local_settings("serve")).title == "OTS intake"


@pytest.mark.usefixtures("bare_environment")
def test_ots_run_and_demo_choose_development_but_other_commands_do_not() -> None:
    assert local_settings("run").env == "development"
    assert local_settings("demo").env == "development"
    with pytest.raises(ValidationError, match="OTS_NATS_URL and OTS_DATABASE_URL are required"):
        local_settings("serve")


def test_commands_beside_a_running_ots_run_join_its_development_system(
    bare_environment: Path,
) -> None:
    (bare_environment / ".ots").mkdir()
    (bare_environment / ".ots" / RUNTIME_ENV).write_text("OTS_ENV=development\n")
    assert local_settings("tokens").env == "development"


@pytest.mark.usefixtures("bare_environment")
def test_an_explicit_production_is_kept_even_for_ots_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTS_ENV", "production")
    with pytest.raises(ValidationError, match="OTS_NATS_URL and OTS_DATABASE_URL are required"):
        local_settings("run")


@pytest.mark.usefixtures("bare_environment")
def test_commands_needing_no_secrets_work_with_nothing_configured(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ots.cli import main

    assert main(["device", "keygen"]) == 0
    assert main(["asyncapi"]) == 0
    assert capsys.readouterr().out
