"""Bearer tokens bound to a role and an agency; only a keyed hash of each is stored."""

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum

import asyncpg

from ots_runtime.db import in_transaction


class Role(StrEnum):
    OPERATOR = "operator"
    AGENCY = "agency"
    VIEWER = "viewer"


@dataclass(frozen=True)
class Principal:
    role: Role
    agency: str

    @property
    def sees_every_visit(self) -> bool:
        return self.role is not Role.AGENCY


def hash_token(token: str, pepper: str) -> str:
    return hmac.new(pepper.encode(), token.encode(), hashlib.sha256).hexdigest()


def new_token() -> str:
    return "ots_" + secrets.token_urlsafe(32)


async def create_token(
    conn: asyncpg.Connection, *, role: Role, agency: str, pepper: str, label: str = ""
) -> str:
    token = new_token()
    await conn.execute(
        "INSERT INTO intake.api_tokens (token_hash, role, agency, label) VALUES ($1, $2, $3, $4)",
        hash_token(token, pepper), role.value, agency, label,
    )  # fmt: skip
    return token


class TokenVerifier:
    """Looks tokens up in the database; remembers hits briefly so requests stay fast.

    Misses are never cached, so a token created a moment ago is accepted at once.
    """

    def __init__(self, pool: asyncpg.Pool, pepper: str, ttl_seconds: float = 30.0) -> None:
        self._pool, self._pepper, self._ttl = pool, pepper, ttl_seconds
        self._hits: dict[str, tuple[float, Principal]] = {}

    async def verify(self, token: str) -> Principal | None:
        digest = hash_token(token, self._pepper)
        cached = self._hits.get(digest)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        row = await in_transaction(
            self._pool,
            lambda conn: conn.fetchrow(
                "SELECT role, agency FROM intake.api_tokens "
                "WHERE token_hash = $1 AND revoked_at IS NULL",
                digest,
            ),
            single_statement=True,
        )
        if row is None:
            return None
        principal = Principal(Role(row["role"]), row["agency"])
        self._hits[digest] = (time.monotonic() + self._ttl, principal)
        return principal
