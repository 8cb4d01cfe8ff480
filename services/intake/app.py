"""The intake service: the operators' API, its outbox relay and its status read model."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from ots_runtime.auth import start_token_verification, token_keys
from ots_runtime.http import install_service_endpoints
from ots_runtime.service import Subscription, start_runtime
from ots_runtime.settings import Settings
from services.intake import read_model
from services.intake.api import router
from services.intake.config import IntakeSettings
from services.intake.console import install_console
from services.intake.tokens import remember_revoked
from services.intake.visit_writer import VisitWriter

SERVICE = "intake"
MIGRATIONS = Path(__file__).with_name("migrations")
CONSUMERS = [read_model.CONSUMER]
MAX_BODY_BYTES = 256 * 1024


def create_app(settings: Settings, config: IntakeSettings | None = None) -> FastAPI:
    keys = token_keys(settings)
    config = config or IntakeSettings(env=settings.env)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await start_runtime(
            settings,
            SERVICE,
            [Subscription(read_model.CONSUMER, read_model.HANDLERS)],
            reset_sessions=False,
        )
        app.state.runtime = runtime
        verifier = await start_token_verification(app, settings, runtime, keys)
        await remember_revoked(runtime.pool, verifier.revoked)
        app.state.visit_writer = writer = VisitWriter(runtime.pool)
        runtime.keep_running("visit-writer", writer.run)
        try:
            yield
        finally:
            await runtime.close()

    app = FastAPI(
        title="OTS intake",
        version="1.0",
        description="Visit requests, teams and devices for On the Spot KTP-el services.",
        lifespan=lifespan,
    )
    app.include_router(router)
    install_console(app, settings, config.token_pepper)
    install_service_endpoints(app, SERVICE, max_body_bytes=MAX_BODY_BYTES)
    return app
