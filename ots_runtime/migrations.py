"""Each service's own schema and numbered SQL migrations, safe to run twice and concurrently."""

import logging
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

RUNTIME_SQL = """
CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
    version text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {schema}.outbox (
    seq bigserial PRIMARY KEY,
    event_id text NOT NULL UNIQUE,
    subject text NOT NULL,
    body bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {schema}.inbox (
    event_id text NOT NULL,
    consumer text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
-- The pruner (ots_runtime/pruning.py) deletes by age; the column is as old as the table.
-- Looked up first: CREATE INDEX IF NOT EXISTS would lock out the running replicas' inbox
-- writes at every start-up, even when the index is there.
DO $$
BEGIN
    IF to_regclass('{schema}.inbox_by_processed_at') IS NULL THEN
        CREATE INDEX inbox_by_processed_at ON {schema}.inbox (processed_at);
    END IF;
END
$$;
"""


def migration_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.sql"))


async def migrate(conn: asyncpg.Connection, schema: str, directory: Path | None) -> list[str]:
    """Apply what is missing, under a lock so two replicas starting together do it once."""
    applied: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ots.migrate'))")
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        await conn.execute(RUNTIME_SQL.format(schema=schema))
        done = {
            r["version"]
            for r in await conn.fetch(f"SELECT version FROM {schema}.schema_migrations")
        }
        for path in migration_files(directory) if directory else []:
            if path.stem in done:
                continue
            await conn.execute(path.read_text(encoding="utf-8").replace("{schema}", schema))
            await conn.execute(
                f"INSERT INTO {schema}.schema_migrations (version) VALUES ($1)", path.stem
            )
            applied.append(path.stem)
    if applied:
        log.info("schema %s migrated: %s", schema, ", ".join(applied))
    return applied
