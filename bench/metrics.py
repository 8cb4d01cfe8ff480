"""Metrics aggregation rate against raw JetStream consume-and-ack of the same events.

    .venv/bin/python bench/metrics.py [--quick] [--visits 2000] [--rounds 3]

Starts its own nats-server (JetStream) and PostgreSQL (fsync on) in a temp dir, provisions the
streams, migrates the metrics schema and publishes a realistic mix once (per visit: requested,
scheduled, completed, a completed recording and two services delivered). Then, round by round
and alternating so machine noise hits both alike, it reads the whole stream twice:

* `raw`: a fresh durable pull consumer with the same filter and batch size, acking each
  message: the floor cost of consuming from JetStream in this process;
* `metrics`: the service's real aggregates consumer (inbox claim, fold, commit, ack) on a
  fresh durable and an emptied schema.

It prints events per second for both and their ratio (target: at least 0.5), and checks that
the aggregates hold exact counts. Exit status 1 only when the counts are wrong.
"""

import argparse
import asyncio
import contextlib
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import uvloop
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from pydantic import BaseModel

from contracts import envelope
from contracts import events as ev
from contracts import subjects as s
from ots_runtime.broker import connect, ensure_consumer, provision
from ots_runtime.consumer import EventConsumer
from ots_runtime.embedded import EmbeddedNats, EmbeddedPostgres
from ots_runtime.migrations import migrate
from ots_runtime.process import tune_garbage_collector
from ots_runtime.subscriber import Durable, consuming
from services.metrics.app import MIGRATIONS
from services.metrics.consumer import BATCH_SIZE, CONSUMER, SUBSCRIPTION

TARGET = 0.5
EVENTS_PER_VISIT = 6
T0 = datetime(2026, 3, 2, 1, tzinfo=UTC)
TABLES = "counters, service_counts, visits, route_plans, team_shifts, inbox"


def visit_events(n: int) -> list[tuple[s.EventSpec, BaseModel, datetime]]:
    visit_id, kec = f"visit-{n}", f"3509{n % 31 + 1:02d}"
    venue, at = ("home", "school", "pesantren")[n % 3], T0 + timedelta(minutes=n)
    requested = ev.VisitRequested.model_validate({
        "visit_id": visit_id, "requester": {"agency_type": "dinsos", "agency_name": "Dinsos"},
        "venue": {"type": venue, "name": "V", "kecamatan_code": kec, "lat": -8.1, "lon": 113.7},
        "services": ["ktp_el_recording", "kk"], "expected_people": 1,
        "residents": [{"nik": f"{kec}120590{n % 9999 + 1:04d}", "name": "Warga"}],
        "priority": ("urgent", "high", "normal")[n % 3],
        "window": {"earliest": "2026-03-03", "latest": "2026-03-10"},
    })  # fmt: skip
    team, done = f"team-{n % 8:02d}", at + timedelta(days=2)
    return [
        (s.VISIT_REQUESTED, requested, at),
        (s.VISIT_SCHEDULED, ev.VisitScheduled(visit_id=visit_id, team_id=team, date=date(2026, 3, 4),
                                              eta=at, service_minutes=30, plan_revision=1), at),
        (s.VISIT_COMPLETED, ev.VisitCompleted(visit_id=visit_id, team_id=team, venue_type=venue,
                                              kecamatan_code=kec, people_recorded=1, people_absent=0,
                                              services_delivered=2), done),
        (s.RECORDING_COMPLETED, ev.RecordingCompleted.model_validate({
            "visit_id": visit_id, "nik": requested.residents[0].nik, "team_id": team,
            "venue_type": venue, "kecamatan_code": kec, "modalities": ["finger", "iris", "face"],
            "quality": {"finger": 55 + n % 40, "iris": 70, "face": 90}}), done),
        *[(s.SERVICE_DELIVERED, ev.ServiceDelivered(
            service_id=f"svc-{n}-{k}", visit_id=visit_id, service_type=k, count=1,
            venue_type=venue, kecamatan_code=kec, team_id=team), done)
          for k in ("ktp_el_recording", "kk")],
    ]  # fmt: skip


async def publish(js: JetStreamContext, visits: int) -> int:
    count = 0
    for n in range(visits):
        for spec, data, at in visit_events(n):
            event = envelope(data, type_=spec.type, source="ots/bench", subject=None)
            event = event.model_copy(update={"time": at})
            await js.publish(spec.subject(), event.model_dump_json().encode(),
                             headers={"Nats-Msg-Id": event.id})  # fmt: skip
            count += 1
    return count


async def fresh_durable(js: JetStreamContext, durable: str) -> None:
    with contextlib.suppress(NotFoundError):
        await js.delete_consumer(CONSUMER.stream, durable)
    await ensure_consumer(js, dataclasses.replace(CONSUMER, durable=durable))


async def raw_round(js: JetStreamContext, events: int) -> float:
    await fresh_durable(js, "bench-raw")
    sub = await js.pull_subscribe_bind("bench-raw", stream=CONSUMER.stream)
    started, seen = time.perf_counter(), 0
    while seen < events:
        for msg in await sub.fetch(BATCH_SIZE, timeout=5):
            await msg.ack()
            seen += 1
    await sub.unsubscribe()
    return events / (time.perf_counter() - started)


async def settled(js: JetStreamContext, events: int) -> None:
    for _ in range(500):
        info = await js.consumer_info(CONSUMER.stream, CONSUMER.durable)
        if info.delivered.stream_seq >= events and not info.num_ack_pending:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{info.num_ack_pending} events still unacknowledged after 5 s")


class Counting:
    """The consumer, telling when it has settled every event: no polling in the timed part."""

    def __init__(self, consumer: EventConsumer, events: int) -> None:
        self.consumer, self.left, self.all_handled = consumer, events, asyncio.Event()

    async def handle(self, msgs: list[Msg]) -> None:
        await self.consumer.handle(msgs)
        self.left -= len(msgs)
        if self.left <= 0:
            self.all_handled.set()

    async def close(self) -> None:
        await self.consumer.close()


async def metrics_round(
    nats_url: str, js: JetStreamContext, pool: asyncpg.Pool, events: int
) -> float:
    """The service's own path: FastStream's subscriber (`DurableBatch`) handing batches to the
    metrics `EventConsumer`."""
    await pool.execute(f"TRUNCATE {', '.join(f'metrics.{t}' for t in TABLES.split(', '))}")
    await fresh_durable(js, CONSUMER.durable)
    durable = Durable(SUBSCRIPTION.consumer, "metrics", batch_size=SUBSCRIPTION.batch_size,
                      concurrency=SUBSCRIPTION.concurrency)  # fmt: skip
    consumer = EventConsumer(
        service="metrics", js=js, pool=pool, spec=SUBSCRIPTION.consumer,
        handlers=SUBSCRIPTION.handlers, apply_batch=SUBSCRIPTION.apply_batch, stop=durable.stop,
    )  # fmt: skip
    counting = Counting(consumer, events)
    async with consuming(nats_url, durable, counting, name="ots-bench-metrics-consumer"):
        started = time.perf_counter()
        await counting.all_handled.wait()
        elapsed = time.perf_counter() - started
        await settled(js, events)  # the acks reached the server: outside the timed part
    return events / elapsed


async def counts_are_exact(pool: asyncpg.Pool, visits: int) -> bool:
    def total(metric: str) -> str:
        return f"(SELECT coalesce(sum(value), 0) FROM metrics.counters WHERE metric = '{metric}')"

    row = await pool.fetchrow(
        f"SELECT {total('ots_visits_requested_total')} AS requested, "
        f"{total('ots_visits_completed_total')} AS completed, "
        f"{total('ots_services_delivered_total')} AS services, "
        f"{total('ots_request_to_completion_seconds_count')} AS waited"
    )
    return tuple(row.values()) == (visits, visits, 2 * visits, visits)


async def measure(nats_url: str, database_url: str, visits: int, rounds: int) -> bool:
    tune_garbage_collector()  # as the service does at start (ots_runtime.service)
    nc = await connect(nats_url, name="ots-bench-metrics")
    js = nc.jetstream()
    await provision(js, [CONSUMER])
    pool = await asyncpg.create_pool(database_url, min_size=2, max_size=4)
    async with pool.acquire() as conn:
        await migrate(conn, "metrics", MIGRATIONS)
    events = await publish(js, visits)
    print(f"{events} events published ({visits} visits x {EVENTS_PER_VISIT}); batch {BATCH_SIZE}")
    ratios = []
    for r in range(1, rounds + 1):
        raw = await raw_round(js, events)
        aggregated = await metrics_round(nats_url, js, pool, events)
        ratios.append(aggregated / raw)
        print(f"round {r}: raw consume+ack {raw:8.0f} ev/s   metrics {aggregated:8.0f} ev/s   "
              f"ratio {aggregated / raw:.2f}")  # fmt: skip
    exact = await counts_are_exact(pool, visits)
    ratio = statistics.median(ratios)
    print(
        f"metrics/raw ratio (median of {rounds}): {ratio:.2f} (target >= {TARGET}) "
        f"{'MET' if ratio >= TARGET else 'NOT MET'}; counts {'exact' if exact else 'WRONG'}"
    )
    await pool.close()
    await nc.close()
    return exact


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="300 visits, 2 rounds")
    p.add_argument("--visits", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=3)
    opts = p.parse_args()
    visits, rounds = (300, 2) if opts.quick else (opts.visits, opts.rounds)
    with tempfile.TemporaryDirectory(prefix="ots-bench-metrics-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)
        nats = EmbeddedNats(work / "nats").start()
        postgres = EmbeddedPostgres(work / "pg" / "data").start()
        try:
            exact = uvloop.run(measure(nats.url, postgres.url, visits, rounds))
        finally:
            postgres.stop()
            nats.stop()
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
