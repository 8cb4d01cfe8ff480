"""Rows that recognise repeats, kept only while a repeat can still come, then pruned by age.

A consumer knows a repeat by the CloudEvents id it recorded in `<schema>.inbox`; intake
replays a retried request from its `idempotency_keys` row. Repeats stop coming once
JetStream's redeliveries and duplicate windows and the clients' retries are over, so rows
older than the retention (`OTS_INBOX_RETENTION_HOURS`, refused if not longer than those
windows) are deleted: a bounded batch per short transaction that skips locked rows, so
neither consumers claiming nor a second replica pruning the same schema ever wait on it.
"""

import asyncio
import logging
import re
from collections.abc import Sequence
from datetime import timedelta

import asyncpg

from ots_runtime.supervision import pause

log = logging.getLogger(__name__)

PruneTarget = tuple[str, str]
"""A table of the schema, and the column holding when each row was written."""
INBOX: PruneTarget = ("inbox", "processed_at")
IDEMPOTENCY_KEYS: PruneTarget = ("idempotency_keys", "created_at")
KNOWN_TARGETS: tuple[PruneTarget, ...] = (INBOX, IDEMPOTENCY_KEYS)
"""Pruned wherever the schema has them, when the caller names no tables."""

PRUNE_INTERVAL_SECONDS = 3600.0
RETRY_SECONDS = 60.0
"""After a failed pass (the database away), the next try comes this soon at the latest."""
LOCK_TIMEOUT = "2s"
IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


def _identifier(name: str) -> str:
    if not IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


def _delete_batch_sql(schema: str, table: str, column: str) -> str:
    relation = f"{_identifier(schema)}.{_identifier(table)}"
    return (
        f"DELETE FROM {relation} WHERE ctid = ANY(ARRAY("
        f"SELECT ctid FROM {relation} WHERE {_identifier(column)} < now() - $1::interval "
        "LIMIT $2 FOR UPDATE SKIP LOCKED))"
    )


async def existing_targets(pool: asyncpg.Pool, schema: str) -> tuple[PruneTarget, ...]:
    """The known targets whose table and column exist in `schema`."""
    rows = await pool.fetch(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1",
        schema,
    )
    present = {(row["table_name"], row["column_name"]) for row in rows}
    return tuple(target for target in KNOWN_TARGETS if target in present)


async def _prune_table(pool: asyncpg.Pool, sql: str, retention: timedelta, batch: int) -> int:
    deleted = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            status: str = await conn.execute(sql, retention, batch)
        count = int(status.split()[-1])
        deleted += count
        if count < batch:
            return deleted
        await asyncio.sleep(0)  # let the service's own work in between batches


async def prune_once(
    pool: asyncpg.Pool,
    schema: str,
    retention: timedelta,
    *,
    tables: Sequence[PruneTarget] | None = None,
    batch: int = 5000,
) -> dict[str, int]:
    """Delete the rows of `tables` (default: the known ones `schema` has) written longer than
    `retention` ago, by the database's clock; returns how many went, per table."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    targets = await existing_targets(pool, schema) if tables is None else tuple(tables)
    return {
        table: await _prune_table(pool, _delete_batch_sql(schema, table, column), retention, batch)
        for table, column in targets
    }


async def run_pruner(
    pool: asyncpg.Pool,
    schema: str,
    retention: timedelta,
    stop: asyncio.Event,
    interval: float = PRUNE_INTERVAL_SECONDS,
) -> None:
    """Prune now and every `interval` seconds until `stop`; a failed pass is logged and
    tried again, so a database outage never ends the loop."""
    while not stop.is_set():
        wait = interval
        try:
            counts = await prune_once(pool, schema, retention)
        except Exception as error:
            wait = min(interval, RETRY_SECONDS)
            log.warning("pruning %s failed (%r); trying again in %.0f s", schema, error, wait)
        else:
            pruned = ", ".join(f"{table} {count}" for table, count in counts.items())
            level = logging.INFO if any(counts.values()) else logging.DEBUG
            hours = retention.total_seconds() / 3600
            log.log(level, "pruned %s older than %g h: %s", schema, hours, pruned or "nothing")
        await pause(stop, wait)
