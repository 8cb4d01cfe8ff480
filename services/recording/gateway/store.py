"""What a batch reads before it decides: devices, the visits (locked), the people's state."""

from collections.abc import Iterable

import asyncpg

from contracts.gateway.chain import CaptureIdentity
from contracts.gateway.verify import Device, Visit
from services.recording.domain.completeness import slot_of
from services.recording.domain.person import CaptureFacts, ExceptionFacts, Person

PersonKey = tuple[str, str]


async def load_devices(conn: asyncpg.Connection, device_ids: Iterable[str]) -> dict[str, Device]:
    rows = await conn.fetch(
        "SELECT device_id, team_id, public_key, expires_at, revoked, revoked_at"
        " FROM recording.devices"
        " WHERE device_id = ANY($1::text[])",
        sorted(set(device_ids)),
    )
    return {r["device_id"]: Device(**dict(r)) for r in rows}


async def lock_visits(conn: asyncpg.Connection, visit_ids: Iterable[str]) -> dict[str, Visit]:
    """Locked in id order, so that concurrent batches on the same visits queue, not deadlock."""
    rows = await conn.fetch(
        "SELECT visit_id, team_id, venue_type, kecamatan_code, cancelled, unassigned, visit_date,"
        " closed_at IS NOT NULL AS closed, completed_at IS NOT NULL AS completed"
        " FROM recording.visits WHERE visit_id = ANY($1::text[]) ORDER BY visit_id FOR UPDATE",
        sorted(set(visit_ids)),
    )
    return {r["visit_id"]: Visit(**dict(r)) for r in rows}


async def load_people(conn: asyncpg.Connection, keys: set[PersonKey]) -> dict[PersonKey, Person]:
    people = {key: Person(*key) for key in keys}
    if not people:
        return people
    visits, niks = [k[0] for k in keys], [k[1] for k in keys]
    pairs = "SELECT * FROM unnest($1::text[], $2::text[]) AS p(visit_id, nik)"
    for r in await conn.fetch(
        "SELECT c.visit_id, c.nik, capture_id, sequence, modality, position, quality, sha256,"
        f" chain_hash, linked FROM recording.captures c JOIN ({pairs}) p USING (visit_id, nik)",
        visits, niks,
    ):  # fmt: skip
        facts = CaptureFacts(
            r["capture_id"], r["sequence"], slot_of(r["modality"], r["position"]), r["quality"],
            r["sha256"], r["chain_hash"],
        )  # fmt: skip
        people[(r["visit_id"], r["nik"])].restore(facts, r["linked"])
    for r in await conn.fetch(
        "SELECT e.visit_id, e.nik, exception_id, modality, position, kind, reason"
        f" FROM recording.exceptions e JOIN ({pairs}) p USING (visit_id, nik)",
        visits, niks,
    ):  # fmt: skip
        slot = slot_of(r["modality"], r["position"])
        exception = ExceptionFacts(r["exception_id"], slot, r["kind"], r["reason"])
        people[(r["visit_id"], r["nik"])].exceptions[slot] = exception
    for r in await conn.fetch(
        f"SELECT e.visit_id, e.nik FROM recording.people e JOIN ({pairs}) p USING (visit_id, nik)",
        visits, niks,
    ):  # fmt: skip
        people[(r["visit_id"], r["nik"])].completed = True
    return people


async def known_services(conn: asyncpg.Connection, service_ids: Iterable[str]) -> set[str]:
    ids = sorted(set(service_ids))
    if not ids:
        return set()  # a round trip saved: most batches hold captures only
    rows = await conn.fetch(
        "SELECT service_id FROM recording.services WHERE service_id = ANY($1::text[])", ids
    )
    return {r["service_id"] for r in rows}


async def known_captures(
    conn: asyncpg.Connection, capture_ids: Iterable[str]
) -> dict[str, CaptureIdentity]:
    """The stored captures among `capture_ids` (every visit's: a capture id is unique)."""
    ids = sorted(set(capture_ids))
    if not ids:
        return {}
    rows = await conn.fetch(
        "SELECT capture_id, visit_id, nik, sequence, sha256, chain_hash FROM recording.captures"
        " WHERE capture_id = ANY($1::text[])",
        ids,
    )
    return {
        r["capture_id"]: (r["visit_id"], r["nik"], r["sequence"], r["sha256"], r["chain_hash"])
        for r in rows
    }
