"""Durable JetStream consumers as FastStream subscribers, with the guarantees FastStream lacks.

FastStream (`NatsBroker`) owns the connection, the registry of subscribers and the dispatch of
each fetched batch to its handler, acknowledgements left to the handler (`AckPolicy.MANUAL`).
Its stock batch pull subscriber would create a durable that is missing (with `max_deliver`
unlimited), fetch the next batch only after the last one is handled, hold nothing in progress
while a batch waits, and restart a dead fetch loop at once without counting it. `DurableBatch`
replaces exactly those two steps, the subscription and the fetch loop:
- it only binds the durable `ots streams` provisioned, under the user's own reply inbox;
- the next batch is fetched while one is handled, each held in progress from its fetch;
- the loop runs under `supervise`: restarted with backoff, counted, and seen by `/readyz`.
The handler (`ots_runtime.consumer`) keeps the rest: inbox, commit before ack, dead letters.
See docs/faststream-migration.md for the source lines each choice rests on.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from faststream import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.security import NatsUserPassword
from faststream.nats.subscriber.usecases.stream_pull_subscriber import (
    BatchPullStreamSubscriber,
)
from faststream.security import BaseSecurity
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext

from contracts.streams import ALL_STREAMS
from ots_runtime.broker import (
    ConsumerSpec,
    consumer_config,
    inbox_prefix,
    log_connection_error,
    log_reconnected,
    server_list,
)
from ots_runtime.consumer import hold
from ots_runtime.supervision import Worker, supervise

log = logging.getLogger(__name__)

BatchHandler = Callable[[list[Msg]], Awaitable[None]]


class BatchConsumer(Protocol):
    """What handles a durable's batches: `EventConsumer`, recording's gateway consumer, the
    max-deliveries watcher."""

    async def handle(self, msgs: list[Msg]) -> None: ...

    async def close(self) -> None: ...


# Declared by `ots streams`, never by a service: FastStream must not create or update them.
JSTREAMS = {spec.name: JStream(spec.name, declare=False) for spec in ALL_STREAMS}


@dataclass
class Durable:
    """What a `DurableBatch` needs beyond FastStream's own subscriber options."""

    spec: ConsumerSpec
    service: str
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    inbox: bytes = b"_INBOX."  # the user's own: `inbox_of(user)`
    batch_size: int = 100
    fetch_timeout: float = 1.0
    # Batches handled at once: more than one only where batches commute, as two replicas'
    # batches must anyway (metrics' additive folds), so one batch's commit overlaps the next.
    concurrency: int = 1
    worker: Worker = field(init=False)

    def __post_init__(self) -> None:
        self.worker = Worker(self.spec.durable)


# A fetched batch and its heartbeat (None only when nothing was fetched).
Fetched = tuple[list[Msg], asyncio.Task[None] | None]


def release(fetched: "asyncio.Task[Fetched]") -> None:
    """Stop holding a batch fetched but never to be handled (the loop is stopping or died), so
    that JetStream redelivers it after `ack_wait` instead of never."""
    if fetched.done() and not fetched.cancelled() and fetched.exception() is None:
        _, heartbeat = fetched.result()
        if heartbeat is not None:
            heartbeat.cancel()


class DurableBatch(BatchPullStreamSubscriber):
    """FastStream's batch pull subscriber, bound to a provisioned durable, prefetching."""

    ots: Durable  # set by `subscribe_durable`; FastStream's subscribers keep a __dict__

    async def _create_subscription(self) -> None:
        if self.subscription is None:
            self.subscription = await self.jetstream.pull_subscribe_bind(
                self.ots.spec.durable, stream=self.ots.spec.stream, inbox_prefix=self.ots.inbox
            )
            self.add_task(self._consume_pull)

    async def _consume_pull(self) -> None:
        await supervise(self.ots.service, self.ots.worker, self._fetch_and_handle, self.ots.stop)

    async def _fetch_and_handle(self, stop: asyncio.Event) -> None:
        assert self.subscription is not None
        subscription = self.subscription
        upcoming = asyncio.create_task(self._fetch(subscription))
        handling: set[asyncio.Task[None]] = set()
        try:
            while self.running and not stop.is_set():
                msgs, heartbeat = await upcoming
                upcoming = asyncio.create_task(self._fetch(subscription))
                if heartbeat is None:
                    continue  # nothing fetched
                handling.add(asyncio.create_task(self._handle(msgs, heartbeat)))
                if len(handling) >= self.ots.concurrency:
                    done, handling = await asyncio.wait(
                        handling, return_when=asyncio.FIRST_COMPLETED
                    )
                    for task in done:
                        task.result()  # raises: supervise restarts the loop
        finally:
            upcoming.cancel()  # what it pulled is redelivered after ack_wait; the inbox copes
            release(upcoming)
            if handling:  # a batch being committed is let finish, never handled twice at once
                await asyncio.wait(handling)

    async def _handle(self, msgs: list[Msg], heartbeat: asyncio.Task[None]) -> None:
        try:
            await self.process_message(msgs)
        finally:
            heartbeat.cancel()

    async def _fetch(self, subscription: JetStreamContext.PullSubscription) -> "Fetched":
        """A batch, held in progress from now on: it may wait behind a batch that waits for
        the database, and must not be redelivered meanwhile."""
        try:
            msgs: list[Msg] = await subscription.fetch(
                self.ots.batch_size, timeout=self.ots.fetch_timeout
            )
        except (NatsTimeout, TimeoutError):
            return [], None
        except Exception as error:
            log.warning("fetch on %s failed: %r", self.ots.spec.durable, error)
            await asyncio.sleep(0.5)
            return [], None
        return msgs, hold(msgs, self.ots.spec.ack_wait_seconds)


def inbox_of(user: str | None) -> bytes:
    """A subscriber's reply prefix: FastStream's subscribers do not take the broker's."""
    return f"{inbox_prefix(user)}.".encode()


async def _raw(message: Any) -> Any:
    """The handler gets the nats-py messages themselves: the contracts parse them once."""
    return message.raw_message


def make_broker(
    url: str, *, name: str, user: str | None = None, password: str | None = None
) -> NatsBroker:
    """A broker that reconnects forever, replies under `_INBOX.<user>`, and leaves every
    acknowledgement to the handlers."""

    security: BaseSecurity | None = None
    if user is not None:
        security = NatsUserPassword(username=user, password=password or "")
    return NatsBroker(
        server_list(url), name=name, security=security, inbox_prefix=inbox_prefix(user),
        max_reconnect_attempts=-1, reconnect_time_wait=1, connect_timeout=5,
        error_cb=log_connection_error, reconnected_cb=log_reconnected,
        ack_policy=AckPolicy.MANUAL, apply_types=False,
        logger=logging.getLogger("ots.faststream"), log_level=logging.DEBUG,
        graceful_timeout=5.0,
    )  # fmt: skip


def subscribe_durable(broker: NatsBroker, ots: Durable, handler: BatchHandler) -> DurableBatch:
    """Register `handler` for batches of the durable `ots.spec` on `broker` (before it starts)."""
    spec = ots.spec
    subscriber = broker.subscriber(
        spec.filter_subjects[0], stream=JSTREAMS[spec.stream], durable=spec.durable,
        config=consumer_config(spec), inbox_prefix=ots.inbox, no_reply=True,
        pull_sub=PullSub(batch_size=ots.batch_size, timeout=ots.fetch_timeout, batch=True),
        decoder=_raw, title=spec.durable,
    )  # fmt: skip
    subscriber.__class__ = DurableBatch  # FastStream's factory offers no subscriber class option
    durable: DurableBatch = subscriber  # type: ignore[assignment]
    durable.ots = ots
    durable(handler)
    return durable


@contextlib.asynccontextmanager
async def consuming(
    url: str, durable: Durable, consumer: BatchConsumer, *, name: str = "ots-consumer",
    user: str | None = None, password: str | None = None,
) -> AsyncIterator[DurableBatch]:  # fmt: skip
    """`consumer` handling the batches of one durable on a broker of its own, until the block
    ends: for tests and benchmarks; services go through `ServiceRuntime.consume`."""
    broker = make_broker(url, name=name, user=user, password=password)
    subscriber = subscribe_durable(broker, durable, consumer.handle)
    await broker.start()
    try:
        yield subscriber
    finally:
        durable.stop.set()
        await subscriber.stop()  # no batch handed out any more
        await consumer.close()  # what it still commits is acknowledged on a live connection
        await broker.stop()
