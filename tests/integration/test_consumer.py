"""Durable consumption: repeats change nothing, bad messages reach the DLQ once with the reason."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from nats.aio.client import Client

from contracts import CloudEvent, envelope
from contracts.events import VisitCancelled
from contracts.subjects import VISIT_CANCELLED
from ots_runtime.broker import ConsumerSpec, ensure_consumer
from ots_runtime.consumer import EventConsumer, Handler
from ots_runtime.settings import Settings
from ots_runtime.subscriber import Durable, consuming
from tests.support.events import published, url_of

SPEC = ConsumerSpec("intake-test", "OTS_EVENTS", ("ots.visit.cancelled",), max_deliver=3,
                    ack_wait_seconds=2)  # fmt: skip


@pytest.fixture
async def applied(settings: Settings, db: asyncpg.Pool) -> AsyncIterator[None]:
    await db.execute("CREATE TABLE intake.applied (visit_id text, event_id text)")
    yield


async def record(conn: asyncpg.Connection, event: CloudEvent[Any]) -> None:
    if event.data.reason == "explode":
        raise RuntimeError("the handler cannot cope")
    await conn.execute("INSERT INTO intake.applied VALUES ($1, $2)", event.data.visit_id, event.id)


async def consume_until_quiet(nc: Client, db: asyncpg.Pool, seconds: float = 3.0) -> None:
    js = nc.jetstream()
    await ensure_consumer(js, SPEC)
    durable = Durable(SPEC, "intake", fetch_timeout=0.2)
    consumer = EventConsumer(service="intake", js=js, pool=db, spec=SPEC,
                             handlers=[Handler(VISIT_CANCELLED, record)], stop=durable.stop)  # fmt: skip
    async with consuming(url_of(nc), durable, consumer):
        await asyncio.sleep(seconds)


async def publish(nc: Client, subject: str, body: bytes, msg_id: str) -> None:
    await nc.jetstream().publish(subject, body, headers={"Nats-Msg-Id": msg_id})


def cancelled(visit_id: str, reason: str = "moved", event_id: str | None = None) -> bytes:
    data = VisitCancelled(visit_id=visit_id, reason=reason)
    event = envelope(data, type_=VISIT_CANCELLED.type, source="ots/test", subject=visit_id,
                     event_id=event_id)  # fmt: skip
    return event.model_dump_json().encode()


async def test_an_event_delivered_twice_is_applied_once(
    applied: None, nc: Client, db: asyncpg.Pool
) -> None:
    body = cancelled("v-1", event_id="evt-1")
    await publish(nc, "ots.visit.cancelled", body, "transport-1")
    await publish(nc, "ots.visit.cancelled", body, "transport-2")  # a re-send JetStream cannot see
    await consume_until_quiet(nc, db)
    assert await db.fetch("SELECT visit_id, event_id FROM intake.applied") == [("v-1", "evt-1")]


async def test_a_malformed_message_reaches_the_dlq_once_with_its_reason(
    applied: None, nc: Client, db: asyncpg.Pool
) -> None:
    await publish(nc, "ots.visit.cancelled", b"{not json", "bad-1")
    await publish(nc, "ots.visit.cancelled", cancelled("v-2"), "good-1")
    await consume_until_quiet(nc, db)

    [letter] = await published(nc, "ots.dlq.intake", expect=1)
    assert letter["data"]["original"] == "{not json"
    assert letter["data"]["attempts"] == 1
    assert "invalid message" in letter["data"]["error"]
    assert await db.fetchval("SELECT count(*) FROM intake.applied") == 1
    info = await nc.jetstream().consumer_info("OTS_EVENTS", SPEC.durable)
    assert info.num_ack_pending == 0 and info.num_pending == 0


async def test_a_message_that_fits_no_model_is_dead_lettered_naming_the_field(
    applied: None, nc: Client, db: asyncpg.Pool
) -> None:
    body = json.loads(cancelled("v-3"))
    del body["data"]["reason"]
    await publish(nc, "ots.visit.cancelled", json.dumps(body).encode(), "bad-2")
    await consume_until_quiet(nc, db)
    [letter] = await published(nc, "ots.dlq.intake", expect=1)
    assert "reason: Field required" in letter["data"]["error"]


async def test_a_handler_that_always_fails_is_dead_lettered_after_max_deliver(
    applied: None, nc: Client, db: asyncpg.Pool
) -> None:
    await publish(nc, "ots.visit.cancelled", cancelled("v-4", reason="explode"), "boom")
    await consume_until_quiet(nc, db, seconds=8)
    [letter] = await published(nc, "ots.dlq.intake", expect=1)
    assert letter["data"]["attempts"] == SPEC.max_deliver
    assert "the handler cannot cope" in letter["data"]["error"]
    assert letter["subject"] == "ots.visit.cancelled"
