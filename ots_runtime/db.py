"""The PostgreSQL pool, and transactions that survive a database restart."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

log = logging.getLogger(__name__)
T = TypeVar("T")

# Errors after which the same idempotent transaction may simply be tried again.
TRANSIENT = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    ConnectionError,
    OSError,
)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Skip asyncpg's reset round trip: callers hold no session state, only transactions."""


async def create_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, reset_sessions: bool = True
) -> asyncpg.Pool:
    reset = None if reset_sessions else _keep_session
    for attempt in range(1, 31):
        try:
            pool: asyncpg.Pool = await asyncpg.create_pool(
                dsn, min_size=min_size, max_size=max_size, command_timeout=30, reset=reset
            )
            return pool
        except TRANSIENT as error:
            log.warning("database not reachable yet (attempt %d): %s", attempt, error)
            await asyncio.sleep(min(0.2 * attempt, 2.0))
    raise RuntimeError("database not reachable after 30 attempts")


async def in_transaction(
    pool: asyncpg.Pool,
    work: Callable[[asyncpg.Connection], Awaitable[T]],
    *,
    attempts: int = 5,
    single_statement: bool = False,
) -> T:
    """Run `work` in one transaction, retrying the whole of it on a transient failure.

    `single_statement` work is one statement, atomic on its own: it skips BEGIN and COMMIT.
    """
    for attempt in range(1, attempts + 1):
        try:
            async with pool.acquire() as conn:
                if single_statement:
                    return await work(conn)
                async with conn.transaction():
                    return await work(conn)
        except TRANSIENT as error:
            if attempt == attempts:
                raise
            log.warning("transaction retried after %s (attempt %d)", type(error).__name__, attempt)
            await asyncio.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")


async def is_reachable(pool: asyncpg.Pool) -> bool:
    try:
        async with pool.acquire(timeout=2) as conn:
            return bool(await conn.fetchval("SELECT true"))
    except Exception:
        return False
