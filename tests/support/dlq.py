"""Shared by the `ots dlq` tests: the command as an operator runs it, the event most letters
hold, and a consumer of dispatch's on real NATS, run with the handler of the moment (one that
fails until the fix, then the fixed one)."""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
from nats.aio.client import Client
from nats.js import JetStreamContext

from contracts.examples import example_event
from contracts.subjects import VISIT_REQUESTED, EventSpec
from ots import dlq
from ots.cli import admin, parser
from ots_runtime import subscriber
from ots_runtime.broker import ConsumerSpec
from ots_runtime.consumer import EventConsumer, Handle, Handler
from ots_runtime.settings import Settings
from ots_runtime.subscriber import Durable
from tests.support.events import url_of


async def ots(settings: Settings, *argv: str) -> int:
    """`ots dlq ARGV`, in the test's loop: its exit code."""
    return await admin(parser().parse_args(["dlq", *argv]), settings)


def requested_body() -> bytes:
    return example_event(VISIT_REQUESTED).model_dump_json().encode()


async def has_letters(js: JetStreamContext) -> bool:
    return bool(await dlq.count(js))


@dataclass(frozen=True)
class DispatchConsumer:
    """A durable of dispatch's on OTS_EVENTS that handles one event type."""

    spec: ConsumerSpec
    event: EventSpec

    @contextlib.asynccontextmanager
    async def consuming(self, nc: Client, db: asyncpg.Pool, handle: Handle) -> AsyncIterator[None]:
        durable = Durable(self.spec, "dispatch", fetch_timeout=0.2)
        consumer = EventConsumer(service="dispatch", js=nc.jetstream(), pool=db, spec=self.spec,
                                 handlers=[Handler(self.event, handle)], stop=durable.stop)  # fmt: skip
        async with subscriber.consuming(url_of(nc), durable, consumer):
            yield

    async def settled_up_to(self, js: JetStreamContext, stream_seq: int) -> bool:
        """Whether it has been delivered up to `stream_seq` and acknowledged all it was given."""
        info = await js.consumer_info("OTS_EVENTS", self.spec.durable)
        return bool(info.delivered.stream_seq >= stream_seq and info.num_ack_pending == 0)
