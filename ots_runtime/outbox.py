"""Transactional outbox: events are written with the change, and a relay publishes them.

A crash between commit and publish leaves the row for the next relay run; a crash after
publish but before the row is deleted re-publishes it with the same `Nats-Msg-Id`, which
JetStream drops as a duplicate within the stream's duplicate window.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
from nats.js import JetStreamContext
from pydantic import BaseModel

from contracts import CloudEvent, EventSpec, envelope
from ots_runtime.telemetry import OUTBOX_PUBLISHED

log = logging.getLogger(__name__)

FaultHook = Callable[[], Awaitable[None]]


def channel(schema: str) -> str:
    return f"{schema}_outbox"


@dataclass(frozen=True)
class OutboxRow:
    """An event ready to be written to an outbox, by `enqueue_rows` or by a set-based writer."""

    event: CloudEvent[BaseModel]
    subject: str
    body: bytes


def outbox_row(
    spec: EventSpec,
    data: BaseModel,
    *,
    source: str,
    subject_id: str | None,
    device_id: str | None = None,
) -> OutboxRow:
    event = envelope(data, type_=spec.type, source=source, subject=subject_id)
    return OutboxRow(event, spec.subject(device_id), event.model_dump_json().encode())


async def enqueue(
    conn: asyncpg.Connection,
    schema: str,
    spec: EventSpec,
    data: BaseModel,
    *,
    source: str,
    subject_id: str | None,
    device_id: str | None = None,
) -> CloudEvent[BaseModel]:
    row = outbox_row(spec, data, source=source, subject_id=subject_id, device_id=device_id)
    await enqueue_rows(conn, schema, [row])
    return row.event


async def enqueue_rows(conn: asyncpg.Connection, schema: str, rows: list[OutboxRow]) -> None:
    """Write `rows` to the outbox in order, in one statement, with one NOTIFY."""
    if not rows:
        return
    await conn.executemany(
        f"INSERT INTO {schema}.outbox (event_id, subject, body) VALUES ($1, $2, $3)",
        [(row.event.id, row.subject, row.body) for row in rows],
    )
    await conn.execute(f"NOTIFY {channel(schema)}")


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        js: JetStreamContext,
        schema: str,
        *,
        batch_size: int = 200,
        poll_seconds: float = 1.0,
        linger_seconds: float = 0.005,
        after_publish: FaultHook | None = None,
    ) -> None:
        self._pool = pool
        self._js = js
        self._schema = schema
        self._batch_size = batch_size
        self._poll_seconds = poll_seconds
        self._linger_seconds = linger_seconds
        self._after_publish = after_publish
        self._wake = asyncio.Event()

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        listener = await self._listen()
        try:
            while not stop.is_set():
                try:
                    # A stopping relay leaves the rest to its next start or another replica.
                    while not stop.is_set() and (published := await self.drain_once()):
                        if published < self._batch_size:
                            # Under load, a few milliseconds gather the next events into one
                            # drain; alone, an event still leaves as soon as it is written.
                            await asyncio.sleep(self._linger_seconds)
                except Exception:
                    log.exception("outbox relay of %s failed; retrying", self._schema)
                    await asyncio.sleep(1)
                await self._sleep_until_woken(stop)
        finally:
            await self._unlisten(listener)

    async def drain_once(self) -> int:
        """Publish one batch in order; return how many were published."""
        async with self._pool.acquire() as conn, conn.transaction():
            # Losing this delete in a crash only re-publishes, and JetStream drops the repeat.
            await conn.execute("SET LOCAL synchronous_commit = off")
            # Deleted, then published: a failed publish rolls the delete back.
            deleted = await conn.fetch(
                f"DELETE FROM {self._schema}.outbox WHERE seq IN (SELECT seq FROM"
                f" {self._schema}.outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED)"
                " RETURNING seq, event_id, subject, body",
                self._batch_size,
            )
            rows = sorted(deleted, key=lambda r: int(r["seq"]))
            if not rows:
                return 0
            acks = [
                await self._js.publish_async(
                    r["subject"], r["body"], headers={"Nats-Msg-Id": r["event_id"]}
                )
                for r in rows
            ]
            await asyncio.wait_for(asyncio.gather(*acks), timeout=10)
            if self._after_publish:
                await self._after_publish()
        OUTBOX_PUBLISHED.labels(self._schema).inc(len(rows))
        return len(rows)

    async def _sleep_until_woken(self, stop: asyncio.Event) -> None:
        self._wake.clear()
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        await asyncio.wait(waiters, timeout=self._poll_seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()

    async def _listen(self) -> asyncpg.Connection | None:
        try:
            conn: asyncpg.Connection = await self._pool.acquire()
            await conn.add_listener(channel(self._schema), self._on_notify)
            return conn
        except Exception:
            log.warning("outbox relay of %s polls without LISTEN", self._schema)
            return None

    async def _unlisten(self, conn: asyncpg.Connection | None) -> None:
        if conn is None:
            return
        try:
            await conn.remove_listener(channel(self._schema), self._on_notify)
        finally:
            await self._pool.release(conn)
