"""The metrics service counts business events exactly, whatever their order and repeats."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
from nats.aio.client import Client

from ots_runtime.settings import Settings
from services.metrics.app import create_app
from services.metrics.domain.catalogue import COUNTERS, HISTOGRAMS
from tests.integration.test_metrics_support import (
    NIKS,
    Day,
    a_day,
    drained,
    expected_samples,
    publish_shuffled,
    samples,
)
from tests.support.events import published
from tests.support.http_service import serving

Samples = dict[tuple[str, tuple[str, ...]], float]
DOMAIN_COUNTERS = tuple(m.name for m in COUNTERS) + tuple(h.name for h in HISTOGRAMS)


@asynccontextmanager
async def metrics_service(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(create_app(settings)) as client:
        yield client


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return samples(response.text)


def assert_counts(found: Samples, day: Day) -> None:
    for key, value in expected_samples(day).items():
        assert found.get(key) == value, f"{key}: {found.get(key)} != {value}"
    for priority, waits in day.waited.items():
        assert found[("ots_request_to_completion_seconds_count", (priority,))] == len(waits)
        assert found[("ots_request_to_completion_seconds_sum", (priority,))] == sum(waits)
    for status in ("requested", "scheduled", "unassigned"):
        by_priority = [
            found[("ots_visits_open", (p, status))] for p in ("urgent", "high", "normal")
        ]
        assert sum(by_priority) == day.open_visits[status]


async def test_shuffled_and_repeated_events_give_exact_counts(
    settings: Settings, nc: Client
) -> None:
    day = a_day(visits=40)
    async with metrics_service(settings) as client:
        await publish_shuffled(nc, day.events, seed=3)
        await drained(nc)
        found = await scrape(client)
    assert_counts(found, day)
    assert (
        found[("ots_visits_cancelled_total", ())]
        == day.expected[("ots_visits_cancelled_total", ())]
    )


async def test_counters_survive_a_restart_and_never_count_a_redelivery_twice(
    settings: Settings, nc: Client
) -> None:
    day = a_day(visits=20, seed=11)
    async with metrics_service(settings) as client:
        await publish_shuffled(nc, day.events, seed=5)
        await drained(nc)
        before = await scrape(client)
    async with metrics_service(settings) as client:
        after_restart = await scrape(client)
        await publish_shuffled(nc, day.events, seed=6)  # the same CloudEvents ids again
        await drained(nc)
        after_redelivery = await scrape(client)
        more = a_day(visits=5, seed=12)
        await publish_shuffled(nc, more.events, seed=7)
        await drained(nc)
        later = await scrape(client)
    counters = {k: v for k, v in before.items() if k[0].startswith(DOMAIN_COUNTERS)}
    assert counters
    for key, value in counters.items():
        assert after_restart[key] == value, key
        assert after_redelivery[key] == value, key
        assert later[key] >= value, key
    assert sum(later[k] for k in counters) > sum(counters.values())


async def test_no_nik_reaches_the_metrics_schema(
    settings: Settings, nc: Client, db: asyncpg.Pool
) -> None:
    day = a_day(visits=15)
    async with metrics_service(settings) as client:
        await publish_shuffled(nc, day.events)
        await drained(nc)
        exposition = (await client.get("/metrics")).text
    assert await db.fetchval("SELECT count(*) FROM metrics.counters") > 0
    tables = await db.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'metrics'"
    )
    for table in tables:
        rows = await db.fetch(f"SELECT t::text AS row FROM metrics.{table['table_name']} t")
        for row in rows:
            assert not any(nik in row["row"] for nik in NIKS), (table["table_name"], row["row"])
            assert not any(nik[:6] + nik[6:12] in row["row"] for nik in NIKS)
    assert not any(nik in exposition for nik in NIKS)


async def test_the_contract_metrics_are_exposed_from_the_first_scrape(settings: Settings) -> None:
    async with metrics_service(settings) as client:
        text = (await client.get("/metrics")).text
    for name in (
        "ots_visits_requested_total", "ots_visits_scheduled_total", "ots_visits_unassigned_total",
        "ots_visits_completed_total", "ots_services_delivered_total",
        "ots_recordings_completed_total", "ots_captures_rejected_total",
        "ots_request_to_completion_seconds", "ots_capture_quality", "ots_visits_open",
    ):  # fmt: skip
        assert f"# TYPE {name} " in text, name
    assert (
        'ots_consumer_pending_messages{consumer="metrics-aggregates",stream="OTS_EVENTS"}' in text
    )


async def test_a_malformed_event_is_dead_lettered_once_and_its_batch_still_counts(
    settings: Settings, nc: Client
) -> None:
    day = a_day(visits=6, seed=31)
    async with metrics_service(settings) as client:
        await nc.jetstream().publish(
            "ots.visit.requested", b'{"specversion": "1.0", "id": "bad-1", "data": {}}'
        )
        await publish_shuffled(nc, day.events)
        await drained(nc)
        found = await scrape(client)
    dead = await published(nc, "ots.dlq.metrics", expect=1)
    assert len(dead) == 1 and "invalid message" in dead[0]["data"]["error"]
    assert_counts(found, day)
