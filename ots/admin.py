"""One-shot administration: migrations, stream provisioning, tokens."""

import importlib
import logging

import asyncpg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from ots.registry import MODULES, all_consumers, services
from ots_runtime.auth import token_keys
from ots_runtime.broker import connect, provision
from ots_runtime.migrations import migrate
from ots_runtime.settings import Settings
from services.intake.tokens import Role, create_token

log = logging.getLogger(__name__)


async def migrate_all(settings: Settings) -> dict[str, list[str]]:
    _, database_url = settings.require_urls()
    conn = await asyncpg.connect(database_url)
    try:
        return {
            name: await migrate(conn, name, entry.migrations) for name, entry in services().items()
        }
    finally:
        await conn.close()


async def provision_streams(settings: Settings, *, replicas: int = 1) -> int:
    nats_url, _ = settings.require_urls()
    nc = await connect(nats_url, name="ots-streams", user=settings.nats_user,
                       password=settings.nats_password)  # fmt: skip
    try:
        consumers = all_consumers()
        await provision(nc.jetstream(), consumers, replicas=replicas)
        await retire_consumers(nc.jetstream(), retired_consumers())
        return len(consumers)
    finally:
        await nc.close()


def retired_consumers() -> list[tuple[str, str]]:
    """(stream, durable) a service no longer reads: its module's `RETIRED_CONSUMERS`."""
    return [
        retired
        for module in MODULES.values()
        for retired in getattr(importlib.import_module(module), "RETIRED_CONSUMERS", [])
    ]


async def retire_consumers(js: JetStreamContext, retired: list[tuple[str, str]]) -> list[str]:
    """Deletes the durables no service reads any more: on a stream kept by limits, one left
    behind would hold every new message as pending, counted as lag, forever. Returns those
    deleted."""
    deleted = []
    for stream, durable in retired:
        try:
            await js.delete_consumer(stream, durable)
        except NotFoundError:
            continue
        log.info("retired durable %s on %s deleted", durable, stream)
        deleted.append(durable)
    return deleted


async def new_token(settings: Settings, role: Role | str, agency: str, label: str = "") -> str:
    """What `ots tokens create` prints; `role` by its contract name or as intake's `Role`."""
    role = Role(role)
    _, database_url = settings.require_urls()
    conn = await asyncpg.connect(database_url)
    try:
        issued = await create_token(
            conn, token_keys(settings), role=role, agency=agency,
            ttl_days=settings.token_ttl_days, label=label,
        )  # fmt: skip
        return issued.token
    finally:
        await conn.close()
