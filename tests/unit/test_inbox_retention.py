"""Inbox and idempotency rows are never pruned while a repeat of theirs can still arrive."""

import pytest
from pydantic import ValidationError

from contracts.streams import ALL_STREAMS
from ots_runtime.settings import REDELIVERY_BOUND_HOURS, Settings


def test_the_default_keeps_them_a_week() -> None:
    assert Settings(env="development").inbox_retention_hours == 168


def test_a_retention_within_a_streams_duplicate_window_is_refused() -> None:
    window_hours = max(s.duplicate_window_seconds for s in ALL_STREAMS) / 3600
    with pytest.raises(ValidationError, match="OTS_INBOX_RETENTION_HOURS"):
        Settings(env="development", inbox_retention_hours=window_hours)


def test_a_retention_not_longer_than_the_redelivery_bound_is_refused() -> None:
    with pytest.raises(ValidationError, match="redeliveries are bounded by 24 h"):
        Settings(env="development", inbox_retention_hours=REDELIVERY_BOUND_HOURS)


def test_a_retention_just_past_every_window_is_accepted_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTS_ENV", "development")
    monkeypatch.setenv("OTS_INBOX_RETENTION_HOURS", "25")
    assert Settings().inbox_retention_hours == 25
    monkeypatch.setenv("OTS_INBOX_RETENTION_HOURS", "1")
    with pytest.raises(ValidationError):
        Settings()
