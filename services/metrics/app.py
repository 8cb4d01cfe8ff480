"""The metrics service: durable aggregates of the business events, for Prometheus and reports."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from ots_runtime.auth import start_token_verification, token_keys
from ots_runtime.http import install_service_endpoints
from ots_runtime.service import start_runtime
from ots_runtime.settings import Settings
from services.metrics.api import router
from services.metrics.collector import AggregatesCollector
from services.metrics.consumer import CONSUMER, SUBSCRIPTION

SERVICE = "metrics"
MIGRATIONS = Path(__file__).with_name("migrations")
CONSUMERS = [CONSUMER]


def create_app(settings: Settings) -> FastAPI:
    keys = token_keys(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await start_runtime(
            settings, SERVICE, [SUBSCRIPTION], relay_outbox=False, pool_size=5
        )
        app.state.runtime = runtime
        await start_token_verification(app, settings, runtime, keys)
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
    app.include_router(router)  # serves /metrics: the aggregates and this process
    install_service_endpoints(app, SERVICE, process_metrics=False)
    return app
