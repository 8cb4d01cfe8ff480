"""Faults around a consumer: the database gone for longer than any retry schedule, a consumer
task that dies, a message whose last delivery was never settled."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

import asyncpg
import pytest
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeout

from contracts.streams import ADVISORIES
from contracts.subjects import VISIT_CANCELLED
from ots_runtime.broker import ConsumerSpec, ensure_consumer
from ots_runtime.consumer import EventConsumer, Handler
from ots_runtime.dead_letter import DeadLetterer
from ots_runtime.embedded import EmbeddedPostgres
from ots_runtime.max_deliveries import MaxDeliveriesWatcher, watcher_spec
from ots_runtime.settings import Settings
from ots_runtime.subscriber import Durable, DurableBatch, consuming
from services.recording.gateway.consumer import CONSUMER as GATEWAY_CONSUMER
from tests.integration.test_consumer import applied, cancelled, publish, record
from tests.support.events import eventually, url_of

__all__ = ["applied"]  # the fixture, used by name
SPEC = ConsumerSpec("intake-faults", "OTS_EVENTS", ("ots.visit.cancelled",), max_deliver=2,
                    ack_wait_seconds=1.5)  # fmt: skip
# The work queue's own durable (a second one on the same subjects is refused), made impatient.
WORK_QUEUE = replace(GATEWAY_CONSUMER, max_deliver=2, ack_wait_seconds=1)


def consuming_events(
    nc: Client, pool: asyncpg.Pool, batch_size: int = 100
) -> contextlib.AbstractAsyncContextManager[DurableBatch]:
    durable = Durable(SPEC, "intake", batch_size=batch_size, fetch_timeout=0.2)
    consumer = EventConsumer(service="intake", js=nc.jetstream(), pool=pool, spec=SPEC,
                             handlers=[Handler(VISIT_CANCELLED, record)], stop=durable.stop)  # fmt: skip
    return consuming(url_of(nc), durable, consumer)


def rows_applied(pool: asyncpg.Pool, wanted: int) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        with contextlib.suppress(Exception):  # the database may still be starting
            return bool(await pool.fetchval("SELECT count(*) FROM intake.applied") == wanted)
        return False

    return probe


def queue_empty(nc: Client) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return not (await nc.jetstream().stream_info("OTS_GATEWAY")).state.messages

    return probe


async def dead_letters(nc: Client) -> int:
    return int((await nc.jetstream().stream_info("OTS_DLQ")).state.messages)


@pytest.fixture
async def consumers() -> AsyncIterator[contextlib.AsyncExitStack]:
    async with contextlib.AsyncExitStack() as stack:
        yield stack


@pytest.fixture
async def running() -> AsyncIterator[list[asyncio.Task[None]]]:
    tasks: list[asyncio.Task[None]] = []
    yield tasks
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(BaseException):
            await task


async def test_a_database_outage_longer_than_every_retry_spends_no_delivery_attempt(
    applied: None, nc: Client, db: asyncpg.Pool, postgres_server: EmbeddedPostgres
) -> None:
    await ensure_consumer(nc.jetstream(), SPEC)
    async with consuming_events(nc, db):
        await asyncio.to_thread(postgres_server.stop)
        try:
            for i in range(3):
                await publish(nc, "ots.visit.cancelled", cancelled(f"v-{i}"), f"outage-{i}")
            # Four times max_deliver × ack_wait: every retry schedule would have given up.
            await asyncio.sleep(4 * SPEC.max_deliver * SPEC.ack_wait_seconds)
        finally:
            await asyncio.to_thread(postgres_server.start, fsync=False)
        await eventually(rows_applied(db, 3))

    assert await dead_letters(nc) == 0
    info = await nc.jetstream().consumer_info("OTS_EVENTS", SPEC.durable)
    assert info.num_redelivered == 0 and info.num_ack_pending == 0 and info.num_pending == 0


async def test_a_consumer_whose_dead_letter_publish_fails_is_restarted_and_catches_up(
    applied: None, nc: Client, db: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch,
    running: list[asyncio.Task[None]],
) -> None:  # fmt: skip
    await ensure_consumer(nc.jetstream(), SPEC)
    real_send = DeadLetterer.send
    failures: list[str] = []

    async def send_failing_once(self: DeadLetterer, *args: object, **kwargs: object) -> None:
        if not failures:
            failures.append("refused")
            raise ConnectionError("NATS leader election under way")
        await real_send(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(DeadLetterer, "send", send_failing_once)
    await publish(nc, "ots.visit.cancelled", b"{not json", "poison")
    await publish(nc, "ots.visit.cancelled", cancelled("v-after"), "good")
    seen_down: list[bool] = []

    # One message a batch: the good one is prefetched, held, while the poison's letter fails;
    # the dead consumer must let go of it, or it would stay in progress and never come back.
    async with consuming_events(nc, db, batch_size=1) as subscriber:
        worker = subscriber.ots.worker

        async def watch() -> None:
            while True:
                seen_down.append(not worker.running)
                await asyncio.sleep(0.02)

        running.append(asyncio.create_task(watch()))
        await eventually(rows_applied(db, 1))

        async def one_dead_letter() -> bool:
            return await dead_letters(nc) == 1

        await eventually(one_dead_letter)
        assert worker.running

    assert failures == ["refused"] and worker.restarts >= 1
    assert "NATS leader election" in worker.last_error
    assert any(seen_down), "the worker was seen not running while it waited to restart"
    assert await dead_letters(nc) == 1


async def settle_on_advisories(
    nc: Client, db: asyncpg.Pool, watched: ConsumerSpec, running: contextlib.AsyncExitStack
) -> None:
    js = nc.jetstream()
    await ensure_consumer(js, watched)
    await ensure_consumer(js, watcher_spec("recording", [watched]))
    watcher = MaxDeliveriesWatcher(
        service="recording", js=js, pool=db, watched=[watched],
        redact={watched.durable: lambda body: body.replace(b"SAMPLE", b"")},
    )  # fmt: skip
    durable = Durable(watcher.spec, "recording", fetch_timeout=0.2)
    await running.enter_async_context(consuming(url_of(nc), durable, watcher))


async def deliver_and_never_settle(nc: Client, spec: ConsumerSpec) -> None:
    """What a process that dies with the message in hand does, every time it gets it. JetStream
    raises the advisory when a pull finds the last delivery expired: hence one pull more."""
    sub = await nc.jetstream().pull_subscribe_bind(spec.durable, stream=spec.stream)
    for _ in range(spec.max_deliver + 1):
        with contextlib.suppress(NatsTimeout):
            await sub.fetch(10, timeout=spec.ack_wait_seconds + 2)
    await sub.unsubscribe()


def capture(event_id: str) -> bytes:
    return json.dumps({"id": event_id, "data": {"sample": "SAMPLE", "note": "kept"}}).encode()


async def test_a_message_that_reached_max_deliver_unsettled_is_dead_lettered_and_leaves_the_queue(
    settings: Settings, nc: Client, db: asyncpg.Pool, consumers: contextlib.AsyncExitStack
) -> None:
    await settle_on_advisories(nc, db, WORK_QUEUE, consumers)
    await publish(nc, "ots.gateway.dev-1.capture", capture("cap-1"), "cap-1")
    await deliver_and_never_settle(nc, WORK_QUEUE)

    await eventually(queue_empty(nc))
    js = nc.jetstream()
    letter = json.loads((await js.get_last_msg("OTS_DLQ", "ots.dlq.recording")).data or b"")["data"]
    assert "reached max_deliver (2)" in letter["error"] and letter["attempts"] == 2
    assert "SAMPLE" not in letter["original"] and "kept" in letter["original"]
    assert (await js.stream_info(ADVISORIES.name)).state.messages == 1


async def test_a_message_applied_but_never_acknowledged_is_not_dead_lettered(
    settings: Settings, nc: Client, db: asyncpg.Pool, consumers: contextlib.AsyncExitStack
) -> None:
    await db.execute(
        "INSERT INTO recording.inbox (consumer, event_id) VALUES ($1, 'cap-2')",
        WORK_QUEUE.durable,
    )
    await settle_on_advisories(nc, db, WORK_QUEUE, consumers)
    await publish(nc, "ots.gateway.dev-1.capture", capture("cap-2"), "cap-2")
    await deliver_and_never_settle(nc, WORK_QUEUE)

    await eventually(queue_empty(nc))
    assert await dead_letters(nc) == 0
