"""The OTS_GATEWAY work queue, pulled in batches: one transaction per batch, acks after commit.

Rejections are outcomes, not failures: they are published and acknowledged with the batch.
Only an unexpected error is retried (message by message, to find the culprit) and, after
`max_deliver` attempts, dead-lettered.
"""

import asyncio
import json
import logging
from dataclasses import dataclass

import asyncpg
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext

from contracts.subjects import (
    GATEWAY_CAPTURE,
    GATEWAY_EXCEPTION,
    GATEWAY_SERVICE,
    GATEWAY_VISIT_CLOSED,
)
from ots_runtime.broker import ConsumerSpec
from ots_runtime.db import TRANSIENT
from ots_runtime.dead_letter import DeadLetterer
from services.recording.domain.completeness import Thresholds
from services.recording.domain.inbound import Inbound, best_effort_ids, read
from services.recording.domain.reasons import Rejected
from services.recording.domain.sealing import Keyring
from services.recording.gateway.batch import BatchApplier, Unreadable
from services.recording.metrics import ACCEPTED, REJECTED

log = logging.getLogger(__name__)

CONSUMER = ConsumerSpec(
    durable="recording-gateway",
    stream="OTS_GATEWAY",
    filter_subjects=tuple(
        s.pattern
        for s in (GATEWAY_CAPTURE, GATEWAY_EXCEPTION, GATEWAY_SERVICE, GATEWAY_VISIT_CLOSED)
    ),
    max_ack_pending=4000,
)


@dataclass(frozen=True)
class GatewayOptions:
    keyring: Keyring
    thresholds: Thresholds
    max_message_bytes: int
    batch_size: int
    close_grace_seconds: float
    fetch_timeout: float = 1.0


def decode(msg: Msg, max_bytes: int) -> Inbound | Unreadable:
    try:
        return read(msg.subject, msg.data, max_bytes)
    except Rejected as rejected:
        device_id, item_id = best_effort_ids(msg.subject, msg.data[:max_bytes])
        key = f"nats:{msg.metadata.sequence.stream}"
        return Unreadable(key, rejected.reason, device_id, item_id)


def without_sample(msg: Msg) -> Msg:
    """The message as the DLQ may keep it: biometric data never outlives its processing."""
    try:
        body = json.loads(msg.data)
        body["data"].pop("sample", None)
        data = json.dumps(body).encode()
    except (ValueError, TypeError, KeyError, AttributeError):
        data = b"(unreadable gateway message withheld)"
    return Msg(msg._client, msg.subject, msg.reply, data, msg.headers)


def inbox_key(item: Inbound | Unreadable) -> str:
    return item.event_id if isinstance(item, Inbound) else item.key


class GatewayConsumer:
    def __init__(
        self, js: JetStreamContext, pool: asyncpg.Pool, options: GatewayOptions,
        spec: ConsumerSpec = CONSUMER,
    ) -> None:  # fmt: skip
        self._js, self._pool, self._options, self._spec = js, pool, options, spec
        self._dead = DeadLetterer(js, "recording")

    async def run(self, stop: asyncio.Event) -> None:
        sub = await self._js.pull_subscribe_bind(self._spec.durable, stream=self._spec.stream)
        while not stop.is_set():
            try:
                msgs = await sub.fetch(
                    self._options.batch_size, timeout=self._options.fetch_timeout
                )
            except (NatsTimeout, TimeoutError):
                continue
            except Exception as error:
                log.warning("fetch on %s failed: %s", self._spec.durable, type(error).__name__)
                await asyncio.sleep(0.5)
                continue
            await self.process(msgs)

    async def process(self, msgs: list[Msg]) -> None:
        heartbeat = asyncio.create_task(self._keep_alive(msgs))
        try:
            await self._process(msgs)
        finally:
            heartbeat.cancel()

    async def _process(self, msgs: list[Msg]) -> None:
        items = [decode(m, self._options.max_message_bytes) for m in msgs]
        try:
            await self._apply(items)
        except TRANSIENT as error:
            log.warning(
                "gateway batch not committed (%s); redelivery retries", type(error).__name__
            )
            await asyncio.gather(*(m.nak(delay=1) for m in msgs))
            return
        except Exception:
            log.exception("gateway batch failed; applying its messages one by one")
            await self._one_by_one(msgs, items)
            return
        await asyncio.gather(*(m.ack() for m in msgs))

    async def _apply(self, items: list[Inbound | Unreadable]) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            fresh = await self._claim(conn, [inbox_key(i) for i in items])
            todo = [i for i in items if fresh.pop(inbox_key(i), None)]
            applier = BatchApplier(
                conn, self._options.keyring, self._options.thresholds,
                self._options.close_grace_seconds,
            )  # fmt: skip
            writes = await applier.apply(todo)
        for reason in writes.rejections:
            REJECTED.labels(reason.value).inc()
        ACCEPTED.labels("batch").inc(len(todo) - len(writes.rejections))

    async def _claim(self, conn: asyncpg.Connection, keys: list[str]) -> dict[str, bool]:
        rows = await conn.fetch(
            "INSERT INTO recording.inbox (consumer, event_id) SELECT $1, unnest($2::text[])"
            " ON CONFLICT DO NOTHING RETURNING event_id",
            self._spec.durable,
            list(dict.fromkeys(keys)),
        )
        return {r["event_id"]: True for r in rows}

    async def _one_by_one(self, msgs: list[Msg], items: list[Inbound | Unreadable]) -> None:
        for msg, item in zip(msgs, items, strict=True):
            try:
                await self._apply([item])
                await msg.ack()
            except Exception as error:
                await self._retry_or_dead_letter(msg, error)

    async def _retry_or_dead_letter(self, msg: Msg, error: Exception) -> None:
        attempts = msg.metadata.num_delivered or 1
        if attempts < self._spec.max_deliver:
            await msg.nak(delay=min(0.5 * 2**attempts, 30))
            return
        await self._dead.send(without_sample(msg), f"{type(error).__name__}", attempts)
        await msg.term()

    async def _keep_alive(self, msgs: list[Msg]) -> None:
        """Tell JetStream a slow batch is still being worked on, so it is not delivered twice."""
        while True:
            await asyncio.sleep(self._spec.ack_wait_seconds / 3)
            await asyncio.gather(*(m.in_progress() for m in msgs))
