"""One-shot administration: migrations, stream provisioning, tokens."""

import asyncpg

from ots.registry import all_consumers, services
from ots_runtime.auth import token_keys
from ots_runtime.broker import connect, provision
from ots_runtime.migrations import migrate
from ots_runtime.settings import Settings
from services.intake.tokens import Role, create_token


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
        return len(consumers)
    finally:
        await nc.close()


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
