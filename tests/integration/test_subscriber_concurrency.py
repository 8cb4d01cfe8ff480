"""A durable's batches, one at a time unless its consumer says they commute."""

import asyncio
import contextlib

from nats.aio.client import Client
from nats.aio.msg import Msg

from ots_runtime.broker import ConsumerSpec, ensure_consumer
from ots_runtime.settings import Settings
from ots_runtime.subscriber import Durable, consuming
from tests.integration.test_consumer import cancelled, publish
from tests.support.events import eventually, url_of

SPEC = ConsumerSpec("intake-concurrency", "OTS_EVENTS", ("ots.visit.cancelled",),
                    max_deliver=3, ack_wait_seconds=5)  # fmt: skip


class Overlapping:
    """Acknowledges each batch after a while, noting how many batches it held at once."""

    def __init__(self, wait_for_company: float) -> None:
        self.inside = self.most_inside = self.acked = 0
        self.wait_for_company = wait_for_company
        self.company = asyncio.Event()

    async def handle(self, msgs: list[Msg]) -> None:
        self.inside += 1
        self.most_inside = max(self.most_inside, self.inside)
        if self.inside >= 2:
            self.company.set()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.company.wait(), self.wait_for_company)
            for msg in msgs:
                await msg.ack()
            self.acked += len(msgs)
        finally:
            self.inside -= 1

    async def close(self) -> None:
        pass


async def handle_six_messages_in_batches_of_two(nc: Client, concurrency: int) -> Overlapping:
    await ensure_consumer(nc.jetstream(), SPEC)
    for n in range(6):
        await publish(nc, "ots.visit.cancelled", cancelled(f"v{n}"), f"concurrency-{n}")
    consumer = Overlapping(wait_for_company=0.5)
    durable = Durable(SPEC, "intake", batch_size=2, fetch_timeout=0.2, concurrency=concurrency)
    async with consuming(url_of(nc), durable, consumer):

        async def all_acked() -> bool:
            return consumer.acked == 6

        await eventually(all_acked)
    return consumer


async def test_a_durable_handles_one_batch_at_a_time_by_default(
    settings: Settings, nc: Client
) -> None:
    consumer = await handle_six_messages_in_batches_of_two(nc, concurrency=1)
    assert consumer.most_inside == 1


async def test_a_durable_whose_batches_commute_handles_two_at_once_and_settles_all(
    settings: Settings, nc: Client
) -> None:
    consumer = await handle_six_messages_in_batches_of_two(nc, concurrency=2)
    assert consumer.most_inside == 2
    info = await nc.jetstream().consumer_info("OTS_EVENTS", SPEC.durable)
    assert info.num_ack_pending == 0 and info.num_pending == 0
