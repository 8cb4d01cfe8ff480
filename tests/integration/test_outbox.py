"""The transactional outbox: nothing lost between commit and publish, nothing published twice."""

import asyncio
import contextlib
import sys
import textwrap

import asyncpg
from nats.aio.client import Client

from contracts.events import VisitCancelled
from contracts.subjects import VISIT_CANCELLED
from ots_runtime.outbox import OutboxRelay, enqueue
from ots_runtime.settings import Settings
from tests.support.events import published


class Crash(Exception):
    pass


async def test_a_process_killed_between_commit_and_publish_loses_nothing(
    settings: Settings, db: asyncpg.Pool, nc: Client
) -> None:
    script = textwrap.dedent(f"""
        import asyncio, os, signal, asyncpg
        from contracts.events import VisitCancelled
        from contracts.subjects import VISIT_CANCELLED
        from ots_runtime.outbox import enqueue
        async def main():
            conn = await asyncpg.connect({settings.database_url!r})
            async with conn.transaction():
                await enqueue(conn, "intake", VISIT_CANCELLED,
                              VisitCancelled(visit_id="v-1", reason="killed"),
                              source="ots/intake", subject_id="v-1")
            os.kill(os.getpid(), signal.SIGKILL)
        asyncio.run(main())
    """)
    killed = await asyncio.create_subprocess_exec(sys.executable, "-c", script)
    assert await killed.wait() == -9
    assert await published(nc, "ots.visit.cancelled", expect=0, within=0.5) == []

    await OutboxRelay(db, nc.jetstream(), "intake").drain_once()

    [event] = await published(nc, "ots.visit.cancelled", expect=1)
    assert event["data"]["reason"] == "killed"
    assert await db.fetchval("SELECT count(*) FROM intake.outbox") == 0


async def cancellations_committed(db: asyncpg.Pool, count: int, reason: str,
                                  *, subject_ids: bool = False) -> None:  # fmt: skip
    """`count` visits cancelled, v-0 first, in one transaction."""
    async with db.acquire() as conn, conn.transaction():
        for n in range(count):
            data = VisitCancelled(visit_id=f"v-{n}", reason=reason)
            subject_id = f"v-{n}" if subject_ids else None
            await enqueue(
                conn, "intake", VISIT_CANCELLED, data, source="ots/intake", subject_id=subject_id
            )


async def test_a_relay_that_crashes_after_publishing_republishes_as_a_dropped_duplicate(
    settings: Settings, db: asyncpg.Pool, nc: Client
) -> None:
    await cancellations_committed(db, 3, "dup", subject_ids=True)

    async def crash() -> None:
        raise Crash

    with contextlib.suppress(Crash):
        await OutboxRelay(db, nc.jetstream(), "intake", after_publish=crash).drain_once()
    assert await db.fetchval("SELECT count(*) FROM intake.outbox") == 3
    await OutboxRelay(db, nc.jetstream(), "intake").drain_once()

    events = await published(nc, "ots.visit.cancelled", expect=3)
    assert sorted(e["data"]["visit_id"] for e in events) == ["v-0", "v-1", "v-2"]
    assert (await nc.jetstream().stream_info("OTS_EVENTS")).state.messages == 3


async def test_the_relay_keeps_the_order_events_were_committed_in(
    settings: Settings, db: asyncpg.Pool, nc: Client
) -> None:
    for n in range(20):
        async with db.acquire() as conn, conn.transaction():
            data = VisitCancelled(visit_id=f"v-{n}", reason="order")
            await enqueue(
                conn, "intake", VISIT_CANCELLED, data, source="ots/intake", subject_id=None
            )
    relay = OutboxRelay(db, nc.jetstream(), "intake", batch_size=7)
    while await relay.drain_once():
        pass
    events = await published(nc, "ots.visit.cancelled", expect=20)
    assert [e["data"]["visit_id"] for e in events] == [f"v-{n}" for n in range(20)]


async def test_a_relay_told_to_stop_stops_after_its_batch_and_leaves_the_rest_in_the_outbox(
    settings: Settings, db: asyncpg.Pool, nc: Client
) -> None:
    await cancellations_committed(db, 30, "stopping")
    stop = asyncio.Event()

    async def stop_after_the_first_batch() -> None:
        stop.set()  # as `Service.close()` does before it cancels the relay

    relay = OutboxRelay(db, nc.jetstream(), "intake", batch_size=10,
                        after_publish=stop_after_the_first_batch)  # fmt: skip
    await asyncio.wait_for(relay.run(stop), timeout=10)

    assert await db.fetchval("SELECT count(*) FROM intake.outbox") == 20
    await OutboxRelay(db, nc.jetstream(), "intake").drain_once()  # the next start sends the rest
    events = await published(nc, "ots.visit.cancelled", expect=30)
    assert [e["data"]["visit_id"] for e in events] == [f"v-{n}" for n in range(30)]
