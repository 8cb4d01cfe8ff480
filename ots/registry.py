"""The services `ots` can serve, with their migrations and durable consumers."""

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from ots_runtime.broker import ConsumerSpec
from ots_runtime.max_deliveries import watcher_spec
from ots_runtime.settings import Settings


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    migrations: Path
    consumers: list[ConsumerSpec]
    create_app: Callable[[Settings], FastAPI]


# Each service is imported only when asked for: `ots serve intake` need not load VROOM and pandas.
MODULES = {
    "intake": "services.intake.app",
    "dispatch": "services.dispatch.app",
    "recording": "services.recording.app",
    "metrics": "services.metrics.app",
}


def service(name: str) -> ServiceEntry | None:
    if name not in MODULES:
        return None
    module = importlib.import_module(MODULES[name])
    consumers = [*module.CONSUMERS, watcher_spec(name, module.CONSUMERS)]
    return ServiceEntry(name, module.MIGRATIONS, consumers, module.create_app)


def services() -> dict[str, ServiceEntry]:
    return {name: entry for name in MODULES if (entry := service(name)) is not None}


def all_consumers() -> list[ConsumerSpec]:
    return [c for entry in services().values() for c in entry.consumers]
