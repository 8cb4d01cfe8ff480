"""What a batch decided, written with one statement per table."""

from dataclasses import dataclass, field

import asyncpg

from contracts.events import GatewayCapture
from services.recording.domain.person import Person
from services.recording.domain.reasons import Reason
from services.recording.domain.sealing import Sealed
from services.recording.emit import Outgoing, enqueue_all


@dataclass(frozen=True)
class NewCapture:
    data: GatewayCapture
    sealed: Sealed


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

    def forget(self, capture_id: str) -> None:
        """A capture broken later in the chain: never stored, or no longer."""
        if self.captures.pop(capture_id, None) is None:
            self.deleted.add(capture_id)
        self.now_linked.discard(capture_id)


def _capture_row(new: NewCapture, linked: bool, keep: bool) -> tuple[object, ...]:
    d, sealed = new.data, new.sealed
    return (
        d.capture_id, d.visit_id, d.nik, d.sequence, d.modality.value, d.position or "",
        d.quality, d.format, d.device_id, d.sha256, d.chain_hash, d.captured_at, linked,
        sealed.key_id if keep else None, sealed.nonce if keep else None,
        sealed.ciphertext if keep else None,
    )  # fmt: skip


CAPTURE_COLUMNS = (
    "capture_id", "visit_id", "nik", "sequence", "modality", "position", "quality", "format",
    "device_id", "sha256", "chain_hash", "captured_at", "linked", "key_id", "nonce", "sample",
)  # fmt: skip


async def flush(conn: asyncpg.Connection, writes: Writes, people: list[Person]) -> None:
    """Statements with nothing to write are skipped: each would cost a round trip."""
    keep = set().union(*(p.samples_to_keep() for p in people)) if people else set()
    linked = set().union(*(p.captures.keys() - {h.capture_id for h in p.held()} for p in people))
    if writes.captures:
        await conn.copy_records_to_table(
            "captures", schema_name="recording", columns=CAPTURE_COLUMNS,
            records=[_capture_row(n, cid in linked, cid in keep)
                     for cid, n in writes.captures.items()],
        )  # fmt: skip
    stored = {c for p in people for c in p.captures if c not in writes.captures}
    await _execute_for_ids(
        conn, "UPDATE recording.captures SET linked = true WHERE capture_id = ANY($1::text[])",
        writes.now_linked,
    )  # fmt: skip
    await _execute_for_ids(
        conn,
        "UPDATE recording.captures SET sample = NULL, nonce = NULL, key_id = NULL"
        " WHERE capture_id = ANY($1::text[]) AND sample IS NOT NULL",
        stored - keep,
    )
    await _execute_for_ids(
        conn, "DELETE FROM recording.captures WHERE capture_id = ANY($1::text[])", writes.deleted
    )
    await _flush_the_rest(conn, writes)


async def _execute_for_ids(conn: asyncpg.Connection, sql: str, ids: set[str]) -> None:
    if ids:
        await conn.execute(sql, sorted(ids))


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
