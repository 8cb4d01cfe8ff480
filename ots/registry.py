"""The services `ots` can serve, with their migrations and durable consumers."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from ots_runtime.broker import ConsumerSpec
from ots_runtime.settings import Settings


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    migrations: Path
    consumers: list[ConsumerSpec]
    create_app: Callable[[Settings], FastAPI]


def services() -> dict[str, ServiceEntry]:
    from services.dispatch import app as dispatch
    from services.intake import app as intake
    from services.metrics import app as metrics
    from services.recording import app as recording

    return {
        "intake": ServiceEntry("intake", intake.MIGRATIONS, intake.CONSUMERS, intake.create_app),
        "dispatch": ServiceEntry(
            "dispatch", dispatch.MIGRATIONS, dispatch.CONSUMERS, dispatch.create_app
        ),
        "recording": ServiceEntry(
            "recording", recording.MIGRATIONS, recording.CONSUMERS, recording.create_app
        ),
        "metrics": ServiceEntry(
            "metrics", metrics.MIGRATIONS, metrics.CONSUMERS, metrics.create_app
        ),
    }


def all_consumers() -> list[ConsumerSpec]:
    return [c for entry in services().values() for c in entry.consumers]
