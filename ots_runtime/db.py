"""The PostgreSQL pool, and transactions that survive a database restart."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from ots_runtime.supervision import pause

log = logging.getLogger(__name__)
T = TypeVar("T")

# Errors after which the same idempotent transaction may simply be tried again: the database
# is unreachable, restarting, out of connections, or chose this transaction as a victim.
TRANSIENT = (
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    ConnectionError,
    OSError,  # TimeoutError included
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


async def wait_until_reachable(
    pool: asyncpg.Pool, stop: asyncio.Event, *, first_delay: float = 0.5, max_delay: float = 5.0
) -> bool:
    """Wait, however long it takes, until the database answers (True) or `stop` is set (False).
    A dead pooled connection is replaced by the probe that finds it dead."""
    delay = first_delay
    while not stop.is_set():
        if await is_reachable(pool):
            return True
        await pause(stop, delay)
        delay = min(delay * 2, max_delay)
    return False
