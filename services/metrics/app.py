"""The metrics service: durable aggregates of the business events, for Prometheus and reports."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from ots_runtime.http import RequestMetrics, install_health, install_problem_handlers
from ots_runtime.service import start_runtime
from ots_runtime.settings import Settings
from services.metrics.api import router
from services.metrics.collector import AggregatesCollector
from services.metrics.consumer import CONSUMER, SUBSCRIPTION

SERVICE = "metrics"
MIGRATIONS = Path(__file__).with_name("migrations")
CONSUMERS = [CONSUMER]


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await start_runtime(
            settings, SERVICE, [SUBSCRIPTION], relay_outbox=False, pool_size=5
        )
        app.state.runtime = runtime
        try:
            yield
        finally:
            await runtime.close()

    app = FastAPI(
        title="OTS metrics",
        version="1.0",
        description="What the department delivered: Prometheus metrics and yearly reports.",
        lifespan=lifespan,
    )
    app.state.collector = AggregatesCollector()
    app.state.registry = CollectorRegistry(auto_describe=False)
    app.state.registry.register(app.state.collector)
    app.state.scrape_lock = asyncio.Lock()
    install_problem_handlers(app)
    app.include_router(router)  # its /metrics comes before the runtime's, so it is the one served

    async def nats_ready() -> bool:
        return await app.state.runtime.nats_ready()  # type: ignore[no-any-return]

    async def db_ready() -> bool:
        return await app.state.runtime.db_ready()  # type: ignore[no-any-return]

    install_health(app, {"nats": nats_ready, "postgres": db_ready})
    app.add_middleware(RequestMetrics, service=SERVICE)
    return app
