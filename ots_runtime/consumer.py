"""Durable pull consumption: inbox for repeats, one commit per batch, dead letters with reasons.

Each message runs in its own savepoint inside one transaction per batch, so a bad message
cannot undo its neighbours, and the batch is acknowledged only after the commit. A service
whose events fold together (counts, sums) may pass `apply_batch`: the whole batch is then
claimed in the inbox with one statement and applied at once, falling back to the
message-by-message path if that fails. FastStream fetches the batches and hands them to
`EventConsumer.handle` (`ots_runtime.subscriber`), prefetching the next while one is applied.
"""

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from pydantic import ValidationError

from contracts import CloudEvent, EventSpec, spec_for_subject
from contracts.subjects import envelope_model
from ots_runtime import db
from ots_runtime.broker import ConsumerSpec
from ots_runtime.db import TRANSIENT
from ots_runtime.dead_letter import DeadLetterer
from ots_runtime.telemetry import (
    CONSUMER_WAITING,
    HANDLING_SECONDS,
    MESSAGES_HANDLED,
    subject_label,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
STUCK_AFTER = 20

Handle = Callable[[asyncpg.Connection, CloudEvent[Any]], Awaitable[None]]
BatchApply = Callable[[asyncpg.Connection, list[CloudEvent[Any]]], Awaitable[None]]


@dataclass(frozen=True)
class Handler:
    spec: EventSpec
    handle: Handle


class Unprocessable(Exception):
    """The message can never be processed, whatever the number of attempts."""


@dataclass
class Outcome:
    msg: Msg
    result: str  # "applied", "repeat", "dead", "retry"
    error: str = ""


def parse(msg: Msg, handlers: dict[str, Handler]) -> tuple[Handler, CloudEvent[Any]]:
    """One pass of pydantic over the JSON: envelope and data together."""
    spec = spec_for_subject(msg.subject)
    handler = handlers.get(spec.pattern) if spec else None
    if handler is None:
        raise Unprocessable(f"no handler for subject {msg.subject}")
    try:
        event = envelope_model(handler.spec).model_validate_json(msg.data)
    except ValidationError as error:
        raise Unprocessable(_describe(error)) from error
    if event.type != handler.spec.type:
        raise Unprocessable(f"type {event.type} does not match subject {msg.subject}")
    return handler, event


def _describe(error: ValidationError) -> str:
    parts = [f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors()[:5]]
    return "invalid message: " + "; ".join(parts)


async def claim_inbox(
    conn: asyncpg.Connection, schema: str, consumer: str, keys: Iterable[str]
) -> set[str]:
    """The keys `consumer` sees for the first time, now recorded in `<schema>.inbox`."""
    wanted = list(dict.fromkeys(keys))
    # Usually every key is new: the database then answers with one NULL, not a row per key.
    seen_before = await conn.fetchval(
        f"WITH fresh AS (INSERT INTO {schema}.inbox (consumer, event_id) "
        "SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING RETURNING event_id) "
        "SELECT CASE WHEN count(*) = cardinality($2::text[]) THEN NULL "
        "ELSE array(SELECT unnest($2::text[]) EXCEPT SELECT event_id FROM fresh) END FROM fresh",
        consumer,
        wanted,
    )
    return set(wanted).difference(seen_before) if seen_before else set(wanted)


def retry_delay(attempts: int) -> float:
    """Seconds before a failed message is delivered again: doubling, capped at 30."""
    return min(0.5 * 2.0**attempts, 30.0)


async def retry_or_dead_letter(
    msg: Msg,
    dead: DeadLetterer,
    max_deliver: int,
    error: str,
    *,
    redact: Callable[[bytes], bytes] | None = None,
) -> str:
    """Nak with backoff while attempts remain, else dead-letter (the body through `redact`,
    if given) and terminate. Returns the result: "retry" or "dead"."""
    attempts = msg.metadata.num_delivered or 1
    if attempts < max_deliver:
        await msg.nak(delay=retry_delay(attempts))
        return "retry"
    data = redact(msg.data) if redact is not None else None
    await dead.send(msg, error, attempts, data=data)
    await msg.term()
    return "dead"


def hold(msgs: list[Msg], ack_wait_seconds: float) -> asyncio.Task[None]:
    """Tell JetStream every `ack_wait/3` that `msgs` are still being worked on, so they are not
    delivered twice, until the task is cancelled. A lost connection only skips a round."""

    async def keep_alive() -> None:
        while True:
            await asyncio.sleep(ack_wait_seconds / 3)
            with contextlib.suppress(Exception):
                await asyncio.gather(*(m.in_progress() for m in msgs))

    return asyncio.create_task(keep_alive())


async def until_applied(
    apply: Callable[[], Awaitable[T]],
    pool: asyncpg.Pool,
    stop: asyncio.Event,
    label: tuple[str, str],
) -> T | None:
    """`apply()`, again and again while it fails for a transient reason, waiting for the
    database in between: an outage, however long, never spends a message's delivery budget.
    None if the service stops first (the batch is then redelivered to whoever runs next).
    If the database answers and the batch still fails transiently `STUCK_AFTER` times in a
    row, the error is no longer taken for an outage: it is raised."""
    streak = 0
    while True:
        try:
            return await apply()
        except TRANSIENT as error:
            streak += 1
            if streak >= STUCK_AFTER and await db.is_reachable(pool):
                raise
            if streak == 1:
                log.warning("%s/%s holds its batch until the database answers: %r",
                            *label, error)  # fmt: skip
        CONSUMER_WAITING.labels(*label).set(1)
        try:
            if not await db.wait_until_reachable(pool, stop):
                return None
        finally:
            CONSUMER_WAITING.labels(*label).set(0)
        await asyncio.sleep(min(0.05 * streak, 1.0))  # a deadlock victim retries a little later


class EventConsumer:
    """The handler of one durable's batches (see `ots_runtime.subscriber` for how FastStream
    fetches them): applied in one transaction, held through a database outage, settled after
    the commit."""

    def __init__(
        self,
        *,
        service: str,
        js: JetStreamContext,
        pool: asyncpg.Pool,
        spec: ConsumerSpec,
        handlers: list[Handler],
        stop: asyncio.Event | None = None,
        apply_batch: BatchApply | None = None,
    ) -> None:
        self._service = service
        self._pool = pool
        self._spec = spec
        self._handlers = {h.spec.pattern: h for h in handlers}
        self._apply_folded = apply_batch
        self._dead = DeadLetterer(js, service)
        self._stop = stop or asyncio.Event()

    async def handle(self, msgs: list[Msg]) -> None:
        started = time.perf_counter()
        try:
            outcomes = await until_applied(
                lambda: self._apply(msgs), self._pool, self._stop,
                (self._service, self._spec.durable),
            )  # fmt: skip
        except TRANSIENT as error:
            outcomes = [Outcome(m, "retry", f"{type(error).__name__}: {error}") for m in msgs]
        if outcomes is None:
            return  # stopping: left unsettled, redelivered after ack_wait
        await self._settle(outcomes)
        elapsed = time.perf_counter() - started
        HANDLING_SECONDS.labels(self._service, self._spec.durable).observe(elapsed)

    async def close(self) -> None:
        """Nothing outlives a batch here."""

    async def _apply(self, msgs: list[Msg]) -> list[Outcome]:
        if self._apply_folded is None:
            return await self._apply_each(msgs)
        try:
            return await self._apply_folded_batch(msgs, self._apply_folded)
        except TRANSIENT:
            raise
        except Exception:
            log.exception("folded batch on %s failed; applying one by one", self._spec.durable)
            return await self._apply_each(msgs)

    async def _apply_each(self, msgs: list[Msg]) -> list[Outcome]:
        async with self._pool.acquire() as conn, conn.transaction():
            return [await self._apply_one(conn, msg) for msg in msgs]

    async def _apply_one(self, conn: asyncpg.Connection, msg: Msg) -> Outcome:
        try:
            handler, event = parse(msg, self._handlers)
        except Unprocessable as error:
            return Outcome(msg, "dead", str(error))
        try:
            async with conn.transaction():
                if not await claim_inbox(conn, self._service, self._spec.durable, [event.id]):
                    return Outcome(msg, "repeat")
                await handler.handle(conn, event)
        except TRANSIENT:
            raise
        except Unprocessable as error:
            return Outcome(msg, "dead", str(error))
        except Exception as error:
            log.exception("handling %s %s failed", subject_label(msg.subject), event.id)
            return Outcome(msg, "retry", f"{type(error).__name__}: {error}")
        return Outcome(msg, "applied")

    async def _apply_folded_batch(self, msgs: list[Msg], apply: BatchApply) -> list[Outcome]:
        outcomes: list[Outcome] = [Outcome(msg, "repeat") for msg in msgs]
        first_of: dict[str, int] = {}
        events: dict[int, CloudEvent[Any]] = {}
        for i, msg in enumerate(msgs):
            try:
                events[i] = parse(msg, self._handlers)[1]
                first_of.setdefault(events[i].id, i)
            except Unprocessable as error:
                outcomes[i] = Outcome(msg, "dead", str(error))
        async with self._pool.acquire() as conn, conn.transaction():
            claimed = await claim_inbox(conn, self._service, self._spec.durable, first_of)
            fresh = sorted(first_of[event_id] for event_id in claimed)
            await apply(conn, [events[i] for i in fresh])
        for i in fresh:
            outcomes[i].result = "applied"
        return outcomes

    async def _settle(self, outcomes: list[Outcome]) -> None:
        handled: Counter[tuple[str, str]] = Counter()
        for outcome in outcomes:
            msg = outcome.msg
            if outcome.result == "retry":
                outcome.result = await retry_or_dead_letter(
                    msg, self._dead, self._spec.max_deliver, outcome.error
                )
            elif outcome.result == "dead":
                await self._dead.send(msg, outcome.error, msg.metadata.num_delivered or 1)
                await msg.term()
            else:
                await msg.ack()
            handled[(subject_label(msg.subject), outcome.result)] += 1
        for (subject, result), count in handled.items():
            MESSAGES_HANDLED.labels(self._service, subject, result).inc(count)
