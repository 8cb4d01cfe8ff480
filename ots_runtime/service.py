"""One service's connections and background work: outbox relay and event consumers."""

import asyncio
import contextlib
import gc
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import asyncpg
from nats.aio.client import Client
from nats.js import JetStreamContext

from ots_runtime import db
from ots_runtime.broker import ConsumerSpec, connect, streams_present
from ots_runtime.consumer import BatchApply, EventConsumer, Handler
from ots_runtime.max_deliveries import MaxDeliveriesWatcher, Redact
from ots_runtime.outbox import OutboxRelay
from ots_runtime.settings import Settings
from ots_runtime.supervision import Work, Worker, supervise

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Subscription:
    consumer: ConsumerSpec
    handlers: list[Handler]
    apply_batch: BatchApply | None = None
    batch_size: int = 100


@dataclass
class ServiceRuntime:
    service: str
    pool: asyncpg.Pool
    nc: Client
    js: JetStreamContext
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    workers: dict[str, Worker] = field(default_factory=dict)

    def keep_running(self, name: str, work: Work) -> None:
        """Run `work(stop)` for the service's whole life, restarted whenever it dies."""
        worker = self.workers[name] = Worker(name)
        self.tasks.append(asyncio.create_task(supervise(self.service, worker, work, self.stop)))

    def workers_ready(self) -> bool:
        return all(worker.running for worker in self.workers.values())

    def stopped_workers(self) -> list[str]:
        return sorted(name for name, worker in self.workers.items() if not worker.running)

    async def nats_ready(self) -> bool:
        return self.nc.is_connected and await streams_present(self.js)

    async def db_ready(self) -> bool:
        return await db.is_reachable(self.pool)

    async def close(self) -> None:
        self.stop.set()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.nc.drain(), timeout=5)
        if not self.nc.is_closed:
            await self.nc.close()
        await self.pool.close()


async def start_runtime(
    settings: Settings,
    service: str,
    subscriptions: list[Subscription],
    *,
    relay_outbox: bool = True,
    pool_size: int = 10,
    reset_sessions: bool = True,
    also_watched: tuple[ConsumerSpec, ...] = (),
    redact: Mapping[str, Redact] | None = None,
) -> ServiceRuntime:
    """The service's pool, connection, outbox relay and consumers, each kept running, and the
    watcher of its consumers' max-deliveries advisories (those of `subscriptions` and of
    `also_watched`, which the service consumes itself), dead-lettering bodies through
    `redact[durable]` where given."""
    nats_url, database_url = settings.require_urls()
    pool = await db.create_pool(database_url, max_size=pool_size, reset_sessions=reset_sessions)
    nc = await connect(
        nats_url, name=f"ots-{service}", user=settings.nats_user, password=settings.nats_password
    )
    runtime = ServiceRuntime(service, pool, nc, nc.jetstream())
    if relay_outbox:
        relay = OutboxRelay(pool, runtime.js, service)
        runtime.keep_running("outbox-relay", relay.run)
    for sub in subscriptions:
        runtime.keep_running(sub.consumer.durable, _consumer_of(runtime, sub))
    watched = [sub.consumer for sub in subscriptions] + list(also_watched)
    watcher = MaxDeliveriesWatcher(
        service=service, js=runtime.js, pool=pool, watched=watched, redact=redact
    )
    runtime.keep_running("max-deliveries", watcher.run)
    log.info("%s runtime started with %d consumer(s)", service, len(subscriptions))
    calm_the_collector()
    return runtime


def _consumer_of(runtime: ServiceRuntime, sub: Subscription) -> Work:
    """A fresh consumer for every (re)start: nothing of a dead one's state is reused."""

    async def run(stop: asyncio.Event) -> None:
        consumer = EventConsumer(
            service=runtime.service, js=runtime.js, pool=runtime.pool, spec=sub.consumer,
            handlers=sub.handlers, batch_size=sub.batch_size, apply_batch=sub.apply_batch,
        )  # fmt: skip
        await consumer.run(stop)

    return run


def calm_the_collector() -> None:
    """Full garbage collections of everything loaded at start-up stalled requests for ~65 ms
    (p99 of intake's POST /v1/visits); frozen objects are never scanned again, and a larger
    first generation makes collections rarer."""
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
