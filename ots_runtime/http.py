"""What every HTTP service serves the same way: RFC 9457 problems, size limits, health, metrics."""

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ots_runtime.db import TRANSIENT

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
HTTP_SECONDS = Histogram(
    "ots_http_request_seconds",
    "HTTP request latency by route template",
    ["service", "method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
Check = Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.extra = status, title, detail, extra


def field_problem(field: str, message: str, detail: str = "") -> Problem:
    """422 for one field, named in `errors` as the validation problems name theirs."""
    return Problem(
        422, "Invalid request", detail or message, errors=[{"field": field, "message": message}]
    )


def problem_response(
    status: int, title: str, detail: str = "", instance: str = "", **extra: Any
) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail or title}
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def validation_problem(errors: list[FieldError], instance: str = "") -> JSONResponse:
    fields = ", ".join(sorted({e.field for e in errors}))
    return problem_response(
        422, "Invalid request", f"Invalid fields: {fields}", instance,
        errors=[{"field": e.field, "message": e.message} for e in errors],
    )  # fmt: skip


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install_problem_handlers(app: FastAPI) -> None:
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [FieldError(_field_of(tuple(e["loc"])), e["msg"]) for e in exc.errors()]
        return validation_problem(errors, request.url.path)

    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(exc.status_code, str(exc.detail), instance=request.url.path)

    async def on_problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.title, exc.detail, request.url.path, **exc.extra)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, TRANSIENT):
            log.warning("%s %s: database unavailable (%r)", request.method, request.url.path, exc)
            response = problem_response(
                503, "Service unavailable", "the database is not reachable; retry shortly",
                request.url.path,
            )  # fmt: skip
            response.headers["Retry-After"] = "5"
            return response
        log.exception("%s %s failed", request.method, request.url.path)
        return problem_response(500, "Internal error", "the error is logged", request.url.path)

    app.add_exception_handler(RequestValidationError, on_validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, on_http)  # type: ignore[arg-type]
    app.add_exception_handler(Problem, on_problem)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, on_unexpected)


class BodySizeLimit:
    """Refuse bodies over the limit with 413 before they are read into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise Problem(413, "Request body too large", f"at most {self.max_bytes} bytes")
            return message

        await self.app(scope, limited, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413, "Request body too large", f"at most {self.max_bytes} bytes", scope.get("path", "")
        )
        await response(scope, receive, send)


def install_health(app: FastAPI, ready_checks: dict[str, Check], *, metrics: bool = True) -> None:
    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], response_model=None)
    async def readyz() -> JSONResponse:
        results = {name: await check() for name, check in ready_checks.items()}
        ok = all(results.values())
        return JSONResponse({"ready": ok, "checks": results}, status_code=200 if ok else 503)

    if not metrics:
        return

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    async def process_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def install_service_endpoints(
    app: FastAPI,
    service: str,
    *,
    max_body_bytes: int | None = None,
    process_metrics: bool = True,
) -> None:
    """What every service serves alike: RFC 9457 problems, /healthz, /readyz of the
    `ServiceRuntime` its lifespan puts in `app.state.runtime`, /metrics, request metrics."""
    install_problem_handlers(app)

    async def nats_ready() -> bool:
        return bool(await app.state.runtime.nats_ready())

    async def db_ready() -> bool:
        return bool(await app.state.runtime.db_ready())

    async def workers_running() -> bool:
        return bool(app.state.runtime.workers_ready())

    checks: dict[str, Check] = {
        "nats": nats_ready,
        "postgres": db_ready,
        "consumers": workers_running,
    }
    install_health(app, checks, metrics=process_metrics)
    if max_body_bytes is not None:
        app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    app.add_middleware(RequestMetrics, service=service)


class RequestMetrics:
    """Request latency by route template (never by concrete id), method and status."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), [500]

        async def record_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            HTTP_SECONDS.labels(self.service, scope["method"], route, str(status[0])).observe(
                time.perf_counter() - started
            )
