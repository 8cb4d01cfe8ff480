"""Objects that no committed capture names, removed once older than the grace period.

A batch writes its samples before its transaction commits, so a crash, a rollback or a retry
leaves objects behind that no row will ever name; so does a replaced sample whose removal
after the commit failed, or the objects of a batch whose connection was lost during COMMIT
(the batch cannot tell whether it took effect, and leaves them here). A batch gives up rather
than commit later than half the grace after writing its samples
(`GatewayOptions.commit_samples_within_seconds`), and each of its statements, COMMIT included,
is bounded by a quarter of the grace (`statement_timeout`), so an object this old whose key no
row holds is never going to be named. That holds while the store's clock (an object's
`last_modified`) and this replica's (the cutoff) differ by less than the remaining quarter.
One replica sweeps at a time.

Listing the whole store grows with everything it holds, so a round lists only the prefixes of
the visits still open or completed within `RECENT` (where batches write); about once a day
(at random, so that restarts and replicas do not matter) a round lists everything, for what a
crash left under an older visit (a late upload's batch, a purge cut short).
"""

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta

import asyncpg

from ots_runtime.supervision import pause
from services.recording.metrics import SAMPLES_SWEPT
from services.recording.samples.keys import visit_of
from services.recording.samples.store import SampleStore, StoreUnavailable

log = logging.getLogger(__name__)
LOCK = "ots.recording.samples-sweeper"
RECENT = timedelta(days=2)
EVERYTHING_EVERY = 24 * 3600.0  # seconds, on average


async def sweep_once(
    pool: asyncpg.Pool, samples: SampleStore, grace: timedelta, *, everything: bool = True
) -> int:
    """The number of objects removed (under the recent visits only, unless `everything`); 0 if
    another replica is sweeping."""
    async with pool.acquire() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", LOCK):
            return 0
        try:
            prefixes = [None] if everything else await _recent_visits(conn)
            cutoff, removed = datetime.now(UTC) - grace, 0
            for prefix in prefixes:
                removed += await _sweep(conn, samples, cutoff, prefix)
            SAMPLES_SWEPT.inc(removed)
            return removed
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", LOCK)


async def _recent_visits(conn: asyncpg.Connection) -> list[str | None]:
    rows = await conn.fetch(
        "SELECT visit_id FROM recording.visits"
        " WHERE completed_at IS NULL OR completed_at > now() - $1::interval ORDER BY visit_id",
        RECENT,
    )
    return [r["visit_id"] for r in rows]


async def _sweep(
    conn: asyncpg.Connection, samples: SampleStore, cutoff: datetime, prefix: str | None
) -> int:
    removed = 0
    async for page in samples.listing(prefix):
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
    return removed


async def run_sweeper(
    pool: asyncpg.Pool, samples: SampleStore, grace: float, every: float, stop: asyncio.Event
) -> None:
    """Sweeps every `every` seconds; an outage of the store or the database skips a round."""
    while not stop.is_set():
        try:
            everything = random.random() < every / EVERYTHING_EVERY
            removed = await sweep_once(
                pool, samples, timedelta(seconds=grace), everything=everything
            )
        except (StoreUnavailable, OSError, asyncpg.PostgresConnectionError) as error:
            log.warning("samples sweep skipped: %s", error)
        else:
            if removed:
                log.info("samples sweep removed %d object(s) no capture names", removed)
        await pause(stop, every)
