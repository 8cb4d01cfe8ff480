"""Real nats-server (JetStream) and PostgreSQL, started once per test session on free ports."""

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from nats.aio.client import Client

from ots.registry import all_consumers, services
from ots_runtime.broker import connect, provision
from ots_runtime.embedded import EmbeddedNats, EmbeddedPostgres
from ots_runtime.migrations import migrate
from ots_runtime.settings import Settings
from tests.support import tokens as test_keys


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="ots-test-") as d:
        os.chmod(d, 0o755)
        yield Path(d)


@pytest.fixture(scope="session")
def nats_server(workdir: Path) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(workdir / "nats").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server(workdir: Path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(workdir / "pg" / "data").start(fsync=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def base_settings(nats_server: EmbeddedNats, postgres_server: EmbeddedPostgres) -> Settings:
    return Settings(
        env="test", nats_url=nats_server.url, database_url=postgres_server.url,
        intake_port=0,
        token_public_keys=test_keys.PUBLIC_KEYS, token_signing_key=test_keys.SIGNING_KEY,
    )  # fmt: skip


async def reset_database(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        for name, entry in services().items():
            await conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
            await migrate(conn, name, entry.migrations)
    finally:
        await conn.close()


async def reset_streams(nc: Client) -> None:
    js = nc.jetstream()
    for info in await js.streams_info():
        if info.config.name:
            await js.delete_stream(info.config.name)
    await provision(js, all_consumers())


@pytest.fixture
async def nc(base_settings: Settings) -> AsyncIterator[Client]:
    assert base_settings.nats_url
    client = await connect(base_settings.nats_url, name="ots-test")
    yield client
    await client.close()


@pytest.fixture
async def settings(base_settings: Settings, nc: Client) -> Settings:
    """Fresh schemas and streams for every test."""
    assert base_settings.database_url
    await reset_database(base_settings.database_url)
    await reset_streams(nc)
    return base_settings


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()
