"""The recording service: device-capture ingestion and the read-only enrollment status."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from ots_runtime.auth import start_token_verification, token_keys
from ots_runtime.http import install_service_endpoints
from ots_runtime.service import Consumption, ServiceRuntime, Subscription, start_runtime
from ots_runtime.settings import Settings
from services.recording import closing, events, views
from services.recording.api import router
from services.recording.config import RecordingSettings
from services.recording.gateway.consumer import CONSUMER as GATEWAY_CONSUMER
from services.recording.gateway.consumer import (
    GatewayConsumer,
    GatewayOptions,
    stored_inbox_keys,
    without_sample,
)
from services.recording.samples.store import open_store
from services.recording.samples.sweeper import run_sweeper

SERVICE = "recording"
MIGRATIONS = Path(__file__).with_name("migrations")
CONSUMERS = [events.CONSUMER, GATEWAY_CONSUMER]
# `recording-worklist` (OTS_EVENTS) kept a second projection until migration 008; its subjects
# are recording-events' now, and `ots streams` deletes it from an upgraded deployment.
RETIRED_CONSUMERS = [("OTS_EVENTS", "recording-worklist")]
log = logging.getLogger(__name__)


def gateway_options(config: RecordingSettings) -> GatewayOptions:
    return GatewayOptions(
        keyring=config.keyring(), thresholds=config.thresholds(),
        max_message_bytes=config.gateway_max_message_bytes,
        batch_size=config.gateway_batch_size, close_grace_seconds=config.close_grace_seconds,
        verify_workers=config.gateway_verify_workers, wait_seconds=config.gateway_wait_seconds,
        clock_skew_seconds=config.gateway_clock_skew_seconds,
        capture_lead_days=config.capture_lead_days(),
        samples=open_store(config.samples_location()),
        commit_samples_within_seconds=config.samples_sweep_grace_seconds / 2,
    )  # fmt: skip


def create_app(settings: Settings, config: RecordingSettings | None = None) -> FastAPI:
    config = config or RecordingSettings()
    options = gateway_options(config)
    keys = token_keys(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        def gateway(runtime: ServiceRuntime) -> GatewayConsumer:
            return GatewayConsumer(runtime.js, runtime.pool, options, stop=runtime.stop)

        work_queue = Consumption(
            GATEWAY_CONSUMER, gateway, options.batch_size,
            redact=without_sample, inbox_keys=stored_inbox_keys,
        )  # fmt: skip
        subscriptions = [Subscription(events.CONSUMER, events.HANDLERS)]
        runtime = await start_runtime(settings, SERVICE, subscriptions, also=(work_queue,))

        async def sweeper(stop: asyncio.Event) -> None:
            grace, every = config.close_grace_seconds, config.close_check_seconds
            after_day = config.recording_close_after_day_hours * 3600
            await closing.run_sweeper(runtime.pool, grace, every, stop, after_day)

        runtime.keep_running("close-sweeper", sweeper)
        runtime.keep_running(
            "device-views", lambda stop: views.run_publisher(runtime.pool, runtime.js, stop)
        )

        async def samples_sweeper(stop: asyncio.Event) -> None:
            assert options.samples is not None
            await run_sweeper(runtime.pool, options.samples, config.samples_sweep_grace_seconds,
                              config.samples_sweep_every_seconds, stop)  # fmt: skip

        runtime.keep_running("samples-sweeper", samples_sweeper)
        log.info("sealed samples go to %s", options.samples)
        app.state.runtime = runtime
        await start_token_verification(app, settings, runtime, keys)
        try:
            yield
        finally:
            await runtime.close()

    app = FastAPI(
        title="OTS recording", version="1.0", lifespan=lifespan,
        description="Signed device captures in, complete KTP-el recordings out.",
    )  # fmt: skip
    app.state.thresholds = options.thresholds
    app.include_router(router)
    install_service_endpoints(app, SERVICE, max_body_bytes=16 * 1024)
    return app
