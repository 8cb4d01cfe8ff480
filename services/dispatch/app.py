"""The dispatch service: its view of teams and visits, the planner, and the plans API."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import FastAPI

from ots_runtime.auth import start_token_verification, token_keys
from ots_runtime.http import install_service_endpoints
from ots_runtime.service import Subscription, start_runtime
from ots_runtime.settings import Settings
from services.dispatch import handlers
from services.dispatch.adapters.providers import matrix_provider
from services.dispatch.adapters.vroom_solver import VroomSolver
from services.dispatch.api import router
from services.dispatch.domain.routing import Solver
from services.dispatch.planning import Planner, Tuning
from services.dispatch.settings import DispatchSettings

SERVICE = "dispatch"
MIGRATIONS = Path(__file__).with_name("migrations")
CONSUMERS = [handlers.CONSUMER]


def tuning_of(settings: DispatchSettings) -> Tuning:
    return Tuning(
        debounce=settings.dispatch_debounce_seconds,
        max_delay=settings.dispatch_max_delay_seconds,
        timeout=settings.dispatch_solver_timeout_seconds,
        retry=settings.dispatch_retry_seconds,
        tolerance=timedelta(minutes=settings.dispatch_eta_tolerance_minutes),
    )


def create_app(
    settings: Settings,
    *,
    dispatch: DispatchSettings | None = None,
    solver: Solver | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> FastAPI:
    own = dispatch or DispatchSettings()
    keys = token_keys(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await start_runtime(
            settings, SERVICE, [Subscription(handlers.CONSUMER, handlers.HANDLERS)]
        )
        planner = Planner(runtime.pool, matrix_provider(own),
                          solver or VroomSolver(threads=own.dispatch_solver_threads),
                          own.planner_config(), tuning_of(own), clock)  # fmt: skip
        runtime.keep_running("planner", planner.run)
        await start_token_verification(app, settings, runtime, keys)
        app.state.runtime, app.state.planner = runtime, planner
        try:
            yield
        finally:
            await runtime.close()

    app = FastAPI(title="OTS dispatch", version="1.0", lifespan=lifespan,
                  description="Which team serves which visit, when, and in what order.")  # fmt: skip
    app.include_router(router)
    install_service_endpoints(app, SERVICE)
    return app
