"""Whole systems under test: none outlives its test, even one a pytest-timeout cut short."""

from collections.abc import Iterator

import pytest

from tests.support.e2e_system import stop_systems_left_running


@pytest.fixture(autouse=True)
def no_system_outlives_its_test() -> Iterator[None]:
    yield
    stop_systems_left_running()
