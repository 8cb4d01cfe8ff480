"""What a batch decided, written with one statement per table; its samples to object storage."""

import asyncio
from dataclasses import dataclass, field

import asyncpg

from contracts.events import GatewayCapture
from contracts.gateway.reasons import Reason
from services.recording.domain.person import Person
from services.recording.emit import Outgoing, enqueue_all
from services.recording.samples.store import SampleStore


@dataclass(frozen=True)
class NewCapture:
    data: GatewayCapture
    key_id: str  # the biometric key that sealed it
    sample_key: str  # its object: `<visit_id>/<sha256 of the sealed bytes>`
    sealed: bytes  # nonce and ciphertext
    written: bool = False  # its object already written (`samples.ahead`)


@dataclass
class Writes:
    captures: dict[str, NewCapture] = field(default_factory=dict)
    now_linked: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    exceptions: list[tuple[str, ...]] = field(default_factory=list)
    services: list[tuple[str, str, str, int]] = field(default_factory=list)
    completed: list[tuple[str, str, bool]] = field(default_factory=list)
    closes: list[tuple[str, str, list[str]]] = field(default_factory=list)
    events: list[Outgoing] = field(default_factory=list)
    rejections: list[Reason] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)  # inbox keys of messages that wait
    unnamed: list[str] = field(default_factory=list)  # objects no row names once committed
    kept: set[str] = field(default_factory=set)  # the objects the new rows name

    def forget(self, capture_id: str) -> None:
        """A capture broken later in the chain: never stored, or no longer."""
        if self.captures.pop(capture_id, None) is None:
            self.deleted.add(capture_id)
        self.now_linked.discard(capture_id)


def _capture_row(new: NewCapture, linked: bool, keep: bool) -> tuple[object, ...]:
    d = new.data
    return (
        d.capture_id, d.visit_id, d.nik, d.sequence, d.modality.value, d.position or "",
        d.quality, d.format, d.device_id, d.sha256, d.chain_hash, d.captured_at, linked,
        new.key_id if keep else None, new.sample_key if keep else None,
        len(new.sealed) if keep else None,
    )  # fmt: skip


CAPTURE_COLUMNS = (
    "capture_id", "visit_id", "nik", "sequence", "modality", "position", "quality", "format",
    "device_id", "sha256", "chain_hash", "captured_at", "linked", "key_id", "sample_key",
    "sample_bytes",
)  # fmt: skip


async def flush(
    conn: asyncpg.Connection, samples: SampleStore | None, writes: Writes, people: list[Person]
) -> None:
    """Statements with nothing to write are skipped: each would cost a round trip. A kept
    sample not yet written ahead (`samples.ahead`) is written while the rows are copied; either
    way every object is written before the transaction may commit: a row never names an object
    that is not there. An object whose row never commits is removed by `samples.sweeper`."""
    keep = set().union(*(p.samples_to_keep() for p in people)) if people else set()
    linked = set().union(*(p.captures.keys() - {h.capture_id for h in p.held()} for p in people))
    if writes.captures:
        writes.kept = {n.sample_key for cid, n in writes.captures.items() if cid in keep}
        objects = {
            n.sample_key: n.sealed
            for cid, n in writes.captures.items()
            if cid in keep and not n.written
        }
        if samples is None and objects:
            raise RuntimeError("captures to store, and no sample store to put their samples in")
        putting = asyncio.ensure_future(samples.put_all(objects) if samples else asyncio.sleep(0))
        try:
            await conn.copy_records_to_table(
                "captures", schema_name="recording", columns=CAPTURE_COLUMNS,
                records=[_capture_row(n, cid in linked, cid in keep)
                         for cid, n in writes.captures.items()],
            )  # fmt: skip
        except BaseException:
            await asyncio.gather(putting, return_exceptions=True)
            raise
        await putting
    stored = {c for p in people for c in p.captures if c not in writes.captures}
    await _execute_for_ids(
        conn, "UPDATE recording.captures SET linked = true WHERE capture_id = ANY($1::text[])",
        writes.now_linked,
    )  # fmt: skip
    writes.unnamed += await _keys_for_ids(
        conn,
        "WITH replaced AS (SELECT capture_id, sample_key FROM recording.captures"
        "  WHERE capture_id = ANY($1::text[]) AND (sample_key IS NOT NULL OR sample IS NOT NULL))"
        " UPDATE recording.captures c SET sample = NULL, nonce = NULL, key_id = NULL,"
        " sample_key = NULL, sample_bytes = NULL FROM replaced"
        " WHERE c.capture_id = replaced.capture_id RETURNING replaced.sample_key",
        stored - keep,
    )
    writes.unnamed += await _keys_for_ids(
        conn,
        "DELETE FROM recording.captures WHERE capture_id = ANY($1::text[]) RETURNING sample_key",
        writes.deleted,
    )
    await _flush_the_rest(conn, writes)


async def _execute_for_ids(conn: asyncpg.Connection, sql: str, ids: set[str]) -> None:
    if ids:
        await conn.execute(sql, sorted(ids))


async def _keys_for_ids(conn: asyncpg.Connection, sql: str, ids: set[str]) -> list[str]:
    """The object keys the rows named before `sql` changed them."""
    if not ids:
        return []
    return [r["sample_key"] for r in await conn.fetch(sql, sorted(ids)) if r["sample_key"]]


async def _execute_many(conn: asyncpg.Connection, sql: str, rows: list[tuple[object, ...]]) -> None:
    if rows:
        await conn.executemany(sql, rows)


async def _flush_the_rest(conn: asyncpg.Connection, writes: Writes) -> None:
    await _execute_many(
        conn,
        "INSERT INTO recording.exceptions (visit_id, nik, modality, position, exception_id, kind,"
        " reason) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING",
        list(writes.exceptions),
    )
    await _execute_many(
        conn,
        "INSERT INTO recording.services (service_id, visit_id, service_type, count)"
        " VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING",
        list(writes.services),
    )
    await _execute_many(
        conn,
        "INSERT INTO recording.people (visit_id, nik, flagged) VALUES ($1,$2,$3)"
        " ON CONFLICT DO NOTHING",
        list(writes.completed),
    )
    await _execute_many(
        conn,
        "UPDATE recording.visits SET closed_at = coalesce(closed_at, now()), closed_by = $2,"
        " absent_niks = ARRAY(SELECT DISTINCT unnest(absent_niks || $3::text[]))"
        " WHERE visit_id = $1",
        list(writes.closes),
    )
    await enqueue_all(conn, writes.events)
