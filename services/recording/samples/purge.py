"""Retention: the captures of recordings already delivered to the centre, and their samples,
removed once older than a date.

A person's recording is delivered when it is complete (`recording.people`), its visit is
completed, and its `ots.recording.completed` has left recording's outbox: the relay publishes
in order and deletes each row once JetStream has it, so no outbox row as old as the person's
completion may remain. Their captures' rows and exceptions go first (one transaction per
group of visits), then the objects those rows named: a row never names a missing object, and
an object left by a crash in between is the sweeper's. What stays: the person's completion row
and the visit, which hold no biometric data and keep a late repeat from being recorded again.
"""

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.recording.metrics import SAMPLES_PURGED
from services.recording.samples.store import SampleStore

VISITS_PER_TRANSACTION = 100

DELIVERED = """
    SELECT p.visit_id, p.nik FROM recording.people p
    JOIN recording.visits v USING (visit_id)
    WHERE v.completed_at IS NOT NULL AND p.completed_at < $1
      AND NOT EXISTS (SELECT FROM recording.outbox o WHERE o.created_at <= p.completed_at)
"""


@dataclass
class Purged:
    people: int = 0
    captures: int = 0
    samples: int = 0  # objects in the store (older rows may still hold theirs in PostgreSQL)
    sample_bytes: int = 0


async def purge(
    pool: asyncpg.Pool, samples: SampleStore, before: datetime, *, dry_run: bool
) -> Purged:
    """What was (or, with `dry_run`, would be) removed."""
    if dry_run:
        row = await pool.fetchrow(
            "SELECT count(DISTINCT (c.visit_id, c.nik)) AS people, count(*) AS captures,"
            " count(c.sample_key) AS samples, coalesce(sum(c.sample_bytes), 0) AS sample_bytes"
            f" FROM recording.captures c JOIN ({DELIVERED}) d USING (visit_id, nik)",
            before,
        )
        return Purged(row["people"], row["captures"], row["samples"], row["sample_bytes"])
    visits = [
        r["visit_id"]
        for r in await pool.fetch(
            f"SELECT DISTINCT d.visit_id FROM ({DELIVERED}) d"
            " WHERE EXISTS (SELECT FROM recording.captures c"
            "               WHERE c.visit_id = d.visit_id AND c.nik = d.nik)"
            " ORDER BY d.visit_id",
            before,
        )
    ]
    done = Purged()
    for start in range(0, len(visits), VISITS_PER_TRANSACTION):
        keys = await _purge_visits(
            pool, visits[start : start + VISITS_PER_TRANSACTION], before, done
        )
        await samples.delete_all(keys)
        SAMPLES_PURGED.inc(len(keys))
    return done


async def _purge_visits(
    pool: asyncpg.Pool, visits: list[str], before: datetime, done: Purged
) -> list[str]:
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            f"WITH d AS ({DELIVERED} AND p.visit_id = ANY($2::text[]))"
            " DELETE FROM recording.captures c USING d"
            " WHERE c.visit_id = d.visit_id AND c.nik = d.nik"
            " RETURNING c.visit_id, c.nik, c.sample_key, c.sample_bytes",
            before, visits,
        )  # fmt: skip
        await conn.execute(
            f"WITH d AS ({DELIVERED} AND p.visit_id = ANY($2::text[]))"
            " DELETE FROM recording.exceptions e USING d"
            " WHERE e.visit_id = d.visit_id AND e.nik = d.nik",
            before, visits,
        )  # fmt: skip
    keys = [r["sample_key"] for r in rows if r["sample_key"]]
    done.people += len({(r["visit_id"], r["nik"]) for r in rows})
    done.captures += len(rows)
    done.samples += len(keys)
    done.sample_bytes += sum(r["sample_bytes"] or 0 for r in rows)
    return keys
