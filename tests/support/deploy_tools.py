"""What the deployment tests stand on: the repository's deploy/ files and the tools that check them.

A tool that is missing fails the test under CI (CI=true installs every one of them) and skips it
on a developer's machine, saying where the tool comes from.
"""

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def missing(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI must have it)")
    pytest.skip(message)


def require_binary(name: str, source: str) -> str:
    """The tool's path: beside this Python (a venv's console script), on PATH, or /usr/bin."""
    for candidate in (Path(sys.executable).with_name(name), Path("/usr/bin") / name):
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        missing(f"{name} is not installed ({source})")
        raise AssertionError("unreachable")
    return found


def require_module(name: str, source: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError:
        missing(f"Python module {name} is not installed ({source})")
        raise AssertionError("unreachable") from None


def yaml_module() -> ModuleType:
    return require_module("yaml", "PyPI PyYAML, in requirements.lock")


def load_yaml(path: Path) -> Any:
    return yaml_module().safe_load(path.read_text())


def load_yaml_all(text: str) -> list[Any]:
    return [doc for doc in yaml_module().safe_load_all(text) if doc]


def run(*command: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """The command's result; its output is in the assertion message when it fails."""
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, (
        f"{' '.join(command)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    )
    return result


def compose_mounts(service: dict[str, Any]) -> dict[str, str]:
    """A compose service's volumes in short syntax, source → target (mode dropped)."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        mounts[source] = target
    return mounts
