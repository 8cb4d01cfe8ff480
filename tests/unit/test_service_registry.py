"""Each service process loads only its own code."""

import subprocess
import sys

import pytest

from ots.registry import MODULES, service, services


@pytest.mark.parametrize("name", ["intake", "recording", "metrics"])
def test_serving_one_service_does_not_load_the_route_solver(name: str) -> None:
    probe = (
        f"import sys; from ots.registry import service; service({name!r}); "
        "print(sorted(m for m in ('vroom', 'pandas') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"


def test_every_service_has_an_entry_and_an_unknown_name_has_none() -> None:
    assert set(services()) == set(MODULES) == {"intake", "dispatch", "recording", "metrics"}
    assert service("billing") is None
