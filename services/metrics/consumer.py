"""The aggregates consumer: one durable consumer on OTS_EVENTS, its inbox, batches folded.

A batch is claimed in the inbox with one statement and folded into additive deltas in memory,
so its cost is a handful of statements whatever its size; the next batch is fetched while one
is being applied. Should the folded write fail for
anything but a lost connection, the batch falls back to the runtime's one-message-per-savepoint
path with the same fold, which isolates the bad message and dead-letters it as usual.
"""

import asyncio
import logging
from collections import Counter
from functools import lru_cache
from typing import Any

import asyncpg
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from pydantic import ValidationError

from contracts import CloudEvent, EventSpec, spec_for_subject
from contracts.subjects import (
    RECORDING_COMPLETED,
    RECORDING_REJECTED,
    ROUTE_PLANNED,
    SERVICE_DELIVERED,
    TEAM_UPDATED,
    VISIT_CANCELLED,
    VISIT_COMPLETED,
    VISIT_REQUESTED,
    VISIT_SCHEDULED,
    VISIT_UNASSIGNED,
)
from ots_runtime.broker import ConsumerSpec
from ots_runtime.consumer import EventConsumer, Handler, Outcome, Unprocessable, parse
from ots_runtime.db import TRANSIENT
from ots_runtime.telemetry import MESSAGES_HANDLED, subject_label
from services.metrics.adapters import store
from services.metrics.domain.batch import Batch

log = logging.getLogger(__name__)

SPECS = (
    VISIT_REQUESTED, VISIT_SCHEDULED, VISIT_UNASSIGNED, VISIT_CANCELLED, VISIT_COMPLETED,
    RECORDING_COMPLETED, RECORDING_REJECTED, SERVICE_DELIVERED, ROUTE_PLANNED, TEAM_UPDATED,
)  # fmt: skip
CONSUMER = ConsumerSpec(
    durable="metrics-aggregates",
    stream="OTS_EVENTS",
    filter_subjects=tuple(spec.pattern for spec in SPECS),
    max_ack_pending=2000,
)
BATCH_SIZE = 500


def fold(events: list[CloudEvent[Any]]) -> Batch:
    batch = Batch()
    for event in events:
        batch.add(event.time, event.data)
    return batch


async def apply_one(conn: asyncpg.Connection, event: CloudEvent[Any]) -> None:
    await store.apply(conn, fold([event]))


HANDLERS = [Handler(spec, apply_one) for spec in SPECS]
_ENVELOPES: dict[str, Any] = {spec.pattern: CloudEvent[spec.model] for spec in SPECS}  # type: ignore[name-defined]


@lru_cache(maxsize=256)
def _spec_of(subject: str) -> EventSpec | None:
    return spec_for_subject(subject)


@lru_cache(maxsize=256)
def _label_of(subject: str) -> str:
    return subject_label(subject)


def parse_fast(msg: Msg, handlers: dict[str, Handler]) -> CloudEvent[Any]:
    """One pass of pydantic over the JSON; anything odd is left to the runtime's own parse,
    so a bad message is refused with exactly the runtime's reason."""
    spec = _spec_of(msg.subject)
    envelope_model = _ENVELOPES.get(spec.pattern) if spec else None
    if spec is not None and envelope_model is not None:
        try:
            event: CloudEvent[Any] = envelope_model.model_validate_json(msg.data)
            if event.type == spec.type:
                return event
        except ValidationError:
            pass
    return parse(msg, handlers)[1]


class AggregatesConsumer(EventConsumer):
    async def run(self, stop: asyncio.Event) -> None:
        sub = await self._js.pull_subscribe_bind(self._spec.durable, stream=self._spec.stream)
        upcoming = asyncio.create_task(self._fetch(sub))
        try:
            while not stop.is_set():
                msgs = await upcoming
                upcoming = asyncio.create_task(self._fetch(sub))
                if msgs:
                    await self.process(msgs)
        finally:
            upcoming.cancel()  # what it fetched is redelivered after ack_wait; the inbox copes

    async def _fetch(self, sub: JetStreamContext.PullSubscription) -> list[Msg]:
        try:
            msgs: list[Msg] = await sub.fetch(self._batch_size, timeout=self._fetch_timeout)
        except (NatsTimeout, TimeoutError):
            return []
        except Exception as error:
            log.warning("fetch on %s failed: %s", self._spec.durable, error)
            await asyncio.sleep(0.5)
            return []
        return msgs

    async def _settle(self, outcomes: list[Outcome]) -> None:
        """Acknowledge what was applied or repeated; the runtime settles anything else."""
        handled: Counter[tuple[str, str]] = Counter()
        for outcome in outcomes:
            if outcome.result in ("applied", "repeat"):
                await outcome.msg.ack()
                handled[(_label_of(outcome.msg.subject), outcome.result)] += 1
        for (subject, result), count in handled.items():
            MESSAGES_HANDLED.labels(self._service, subject, result).inc(count)
        await super()._settle([o for o in outcomes if o.result not in ("applied", "repeat")])

    async def _apply_batch(self, msgs: list[Msg]) -> list[Outcome]:
        outcomes: dict[int, Outcome] = {}
        events: dict[int, CloudEvent[Any]] = {}
        for i, msg in enumerate(msgs):
            try:
                events[i] = parse_fast(msg, self._handlers)
            except Unprocessable as error:
                outcomes[i] = Outcome(msg, "dead", str(error))
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                fresh = await self._claim_all(conn, events)
                await store.apply(conn, fold([events[i] for i in sorted(fresh)]))
        except TRANSIENT:
            raise
        except Exception:
            log.exception("folded batch on %s failed; applying one by one", CONSUMER.durable)
            return await super()._apply_batch(msgs)
        for i, msg in enumerate(msgs):
            if i not in outcomes:
                outcomes[i] = Outcome(msg, "applied" if i in fresh else "repeat")
        return [outcomes[i] for i in range(len(msgs))]

    async def _claim_all(
        self, conn: asyncpg.Connection, events: dict[int, CloudEvent[Any]]
    ) -> set[int]:
        """The positions of events claimed now: first sight of their id, in the batch too."""
        first_of: dict[str, int] = {}
        for i, event in events.items():
            first_of.setdefault(event.id, i)
        claimed = await conn.fetch(
            "INSERT INTO metrics.inbox (consumer, event_id) SELECT $1, unnest($2::text[]) "
            "ON CONFLICT DO NOTHING RETURNING event_id",
            CONSUMER.durable,
            list(first_of),
        )
        return {first_of[row["event_id"]] for row in claimed}
