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


async def flush(conn: asyncpg.Connection, writes: Writes, people: list[Person]) -> None:
    keep = set().union(*(p.samples_to_keep() for p in people)) if people else set()
    linked = set().union(*(p.captures.keys() - {h.capture_id for h in p.held()} for p in people))
    await conn.executemany(
        "INSERT INTO recording.captures (capture_id, visit_id, nik, sequence, modality, position,"
        " quality, format, device_id, sha256, chain_hash, captured_at, linked, key_id, nonce,"
        " sample) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)",
        [_capture_row(n, cid in linked, cid in keep) for cid, n in writes.captures.items()],
    )
    stored = {c for p in people for c in p.captures if c not in writes.captures}
    await conn.execute(
        "UPDATE recording.captures SET linked = true WHERE capture_id = ANY($1::text[])",
        sorted(writes.now_linked),
    )
    await conn.execute(
        "UPDATE recording.captures SET sample = NULL, nonce = NULL, key_id = NULL"
        " WHERE capture_id = ANY($1::text[]) AND sample IS NOT NULL",
        sorted(stored - keep),
    )
    await conn.execute(
        "DELETE FROM recording.captures WHERE capture_id = ANY($1::text[])", sorted(writes.deleted)
    )
    await _flush_the_rest(conn, writes)


async def _flush_the_rest(conn: asyncpg.Connection, writes: Writes) -> None:
    await conn.executemany(
        "INSERT INTO recording.exceptions (visit_id, nik, modality, position, exception_id, kind,"
        " reason) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING",
        writes.exceptions,
    )
    await conn.executemany(
        "INSERT INTO recording.services (service_id, visit_id, service_type, count)"
        " VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING",
        writes.services,
    )
    await conn.executemany(
        "INSERT INTO recording.people (visit_id, nik, flagged) VALUES ($1,$2,$3)"
        " ON CONFLICT DO NOTHING",
        writes.completed,
    )
    await conn.executemany(
        "UPDATE recording.visits SET closed_at = coalesce(closed_at, now()), closed_by = $2,"
        " absent_niks = ARRAY(SELECT DISTINCT unnest(absent_niks || $3::text[]))"
        " WHERE visit_id = $1",
        writes.closes,
    )
    await enqueue_all(conn, writes.events)
