"""NIKs never reach a log line unmasked; production refuses placeholder secrets."""

import io
import logging
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from ots.embedded_env import RUNTIME_ENV, local_settings
from ots_runtime.logs import JsonFormatter, mask_niks
from ots_runtime.settings import PLACEHOLDER, Settings


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


def test_production_refuses_the_placeholder_token_pepper() -> None:
    with pytest.raises(ValidationError, match="OTS_TOKEN_PEPPER"):
        Settings(env="production", nats_url="nats://n:4222", database_url="postgresql://d/ots")


def test_production_requires_both_urls() -> None:
    with pytest.raises(ValidationError, match="OTS_NATS_URL"):
        Settings(env="production", token_pepper="a-real-secret-value")


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
    with pytest.raises(ValidationError, match="OTS_TOKEN_PEPPER"):
        Settings()
    assert Settings.model_fields["env"].default == "production"


@pytest.mark.usefixtures("bare_environment")
def test_explicit_development_builds_on_the_placeholders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTS_ENV", "development")
    settings = Settings()
    assert settings.env == "development"
    assert settings.token_pepper == PLACEHOLDER


@pytest.mark.usefixtures("bare_environment")
def test_test_mode_brings_its_own_pepper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTS_ENV", "test")
    with pytest.raises(ValidationError, match="OTS_TOKEN_PEPPER"):
        Settings()
    monkeypatch.setenv("OTS_TOKEN_PEPPER", "a-test-pepper")
    assert Settings().env == "test"


@pytest.mark.usefixtures("bare_environment")
def test_ots_run_and_demo_choose_development_but_other_commands_do_not() -> None:
    assert local_settings("run").env == "development"
    assert local_settings("demo").env == "development"
    with pytest.raises(ValidationError, match="OTS_TOKEN_PEPPER"):
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
    with pytest.raises(ValidationError, match="OTS_TOKEN_PEPPER"):
        local_settings("run")


@pytest.mark.usefixtures("bare_environment")
def test_commands_needing_no_secrets_work_with_nothing_configured(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ots.cli import main

    assert main(["device", "keygen"]) == 0
    assert main(["asyncapi"]) == 0
    assert capsys.readouterr().out
