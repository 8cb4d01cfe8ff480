"""Intake issues the API tokens and keeps their register: id, role, agency, label, expiry,
revocation. The token itself is never stored (it is signed, not looked up); a revocation is
published on `ots.token.revoked` through the outbox, so every service refuses it."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from contracts.events import TokenRevoked
from contracts.subjects import TOKEN_REVOKED
from ots_runtime.auth import Principal, RevokedSet, Role, TokenKeys, issue, new_token_id
from ots_runtime.outbox import enqueue

__all__ = ["Principal", "Role"]  # re-exported: intake's modules import them from here

SCHEMA = "intake"
SOURCE = "ots/intake"


@dataclass(frozen=True)
class IssuedToken:
    token_id: str
    token: str
    expires_at: datetime


async def create_token(
    conn: asyncpg.Connection,
    keys: TokenKeys,
    *,
    role: Role,
    agency: str,
    ttl_days: int,
    label: str = "",
) -> IssuedToken:
    if not agency.strip() or not agency.isprintable():
        raise ValueError("the agency must be printable text")
    now = datetime.now(UTC).replace(microsecond=0)
    token_id, expires_at = new_token_id(), now + timedelta(days=ttl_days)
    token = issue(
        keys, role=role, agency=agency, token_id=token_id, issued_at=now, expires_at=expires_at
    )
    await conn.execute(
        "INSERT INTO intake.api_tokens (token_id, role, agency, label, created_at, expires_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        token_id, role.value, agency, label, now, expires_at,
    )  # fmt: skip
    return IssuedToken(token_id, token, expires_at)


async def list_tokens(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT token_id, role, agency, label, created_at, expires_at, revoked_at "
        "FROM intake.api_tokens ORDER BY created_at, token_id"
    )
    return rows


async def revoke_token(conn: asyncpg.Connection, token_id: str) -> asyncpg.Record | None:
    """Revoke `token_id` and publish it (once: revoking again changes nothing). None if no
    such token."""
    async with conn.transaction():
        row = await conn.fetchrow(
            "SELECT token_id, expires_at, revoked_at FROM intake.api_tokens "
            "WHERE token_id = $1 FOR UPDATE",
            token_id,
        )
        if row is None or row["revoked_at"] is not None:
            return row
        row = await conn.fetchrow(
            "UPDATE intake.api_tokens SET revoked_at = now() WHERE token_id = $1 "
            "RETURNING token_id, expires_at, revoked_at",
            token_id,
        )
        event = TokenRevoked(token_id=token_id, expires_at=row["expires_at"])
        await enqueue(conn, SCHEMA, TOKEN_REVOKED, event, source=SOURCE, subject_id=token_id)
        return row


async def remember_revoked(pool: asyncpg.Pool, revoked: RevokedSet) -> None:
    """Intake also knows its register's revocations from the start, those its outbox has not
    published yet included (made while it was down)."""
    for row in await pool.fetch(
        "SELECT token_id, expires_at FROM intake.api_tokens "
        "WHERE revoked_at IS NOT NULL AND expires_at > now()"
    ):
        revoked.add(row["token_id"], row["expires_at"])
