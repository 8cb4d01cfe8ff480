"""NIKs never reach a log line unmasked; production refuses placeholder secrets."""

import io
import logging

import pytest
from pydantic import ValidationError

from ots_runtime.logs import JsonFormatter, mask_niks
from ots_runtime.settings import Settings


def test_a_nik_in_a_log_message_is_masked() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.masking")
    logger.addHandler(handler)
    logger.warning("resident %s already in visit v-1", "3509015205900001")
    assert "3509********0001" in stream.getvalue()
    assert "3509015205900001" not in stream.getvalue()


def test_longer_digit_runs_are_not_mistaken_for_niks() -> None:
    assert mask_niks("seq 12345678901234567") == "seq 12345678901234567"
    assert mask_niks("a,3509015205900001,b") == "a,3509********0001,b"


def test_production_refuses_the_placeholder_token_pepper() -> None:
    with pytest.raises(ValidationError, match="OTS_TOKEN_PEPPER"):
        Settings(env="production", nats_url="nats://n:4222", database_url="postgresql://d/ots")


def test_production_requires_both_urls() -> None:
    with pytest.raises(ValidationError, match="OTS_NATS_URL"):
        Settings(env="production", token_pepper="a-real-secret-value")


def test_development_runs_on_the_defaults() -> None:
    assert Settings(env="development").intake_port == 8080
