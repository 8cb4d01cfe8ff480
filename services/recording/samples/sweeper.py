"""Objects that no committed capture names, removed once older than the grace period.

A batch writes its samples before its transaction commits, so a crash, a rollback or a retry
leaves objects behind that no row will ever name; so does a replaced sample whose removal
after the commit failed. A batch gives up rather than commit later than half the grace after
writing its samples (`GatewayOptions.commit_samples_within_seconds`), so an object this old
whose key no row holds is never going to be named. One replica sweeps at a time.
"""

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import asyncpg

from ots_runtime.supervision import pause
from services.recording.metrics import SAMPLES_SWEPT
from services.recording.samples.keys import visit_of
from services.recording.samples.store import SampleStore, StoreUnavailable

log = logging.getLogger(__name__)
LOCK = "ots.recording.samples-sweeper"


async def sweep_once(pool: asyncpg.Pool, samples: SampleStore, grace: timedelta) -> int:
    """The number of objects removed; 0 if another replica is sweeping."""
    async with pool.acquire() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", LOCK):
            return 0
        try:
            return await _sweep(conn, samples, datetime.now(UTC) - grace)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", LOCK)


async def _sweep(conn: asyncpg.Connection, samples: SampleStore, cutoff: datetime) -> int:
    removed = 0
    async for page in samples.listing():
        old = [o.key for o in page if o.last_modified < cutoff and "/" in o.key]
        if not old:
            continue
        rows = await conn.fetch(
            "SELECT sample_key FROM recording.captures"
            " WHERE visit_id = ANY($1::text[]) AND sample_key = ANY($2::text[])",
            sorted({visit_of(key) for key in old}),
            old,
        )
        named = {r["sample_key"] for r in rows}
        unnamed = [key for key in old if key not in named]
        await samples.delete_all(unnamed)
        removed += len(unnamed)
    SAMPLES_SWEPT.inc(removed)
    return removed


async def run_sweeper(
    pool: asyncpg.Pool, samples: SampleStore, grace: float, every: float, stop: asyncio.Event
) -> None:
    """Sweeps every `every` seconds; an outage of the store or the database skips a round."""
    while not stop.is_set():
        try:
            removed = await sweep_once(pool, samples, timedelta(seconds=grace))
        except (StoreUnavailable, OSError, asyncpg.PostgresConnectionError) as error:
            log.warning("samples sweep skipped: %s", error)
        else:
            if removed:
                log.info("samples sweep removed %d object(s) no capture names", removed)
        await pause(stop, every)
