"""What every HTTP service serves the same way: RFC 9457 problems, size limits, health, metrics."""

import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest
from pydantic import BeforeValidator
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
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


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _written_as_a_day(value: Any) -> Any:
    if isinstance(value, str) and not _DAY.fullmatch(value):
        raise ValueError("a day is written YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_written_as_a_day)]
"""A day in a query: `YYYY-MM-DD` only, never the number of seconds pydantic would also take."""


@dataclass(frozen=True)
class FieldError:
    """One refused field: `message` in English; `code` (a domain rule's, or pydantic's error
    type) and `params` let a client say it in its own language."""

    field: str
    message: str
    code: str = ""
    params: Mapping[str, str | int | float] | None = None

    def as_json(self) -> dict[str, Any]:
        item: dict[str, Any] = {"field": self.field, "message": self.message}
        if self.code:
            item["code"] = self.code
        if self.params:
            item["params"] = dict(self.params)
        return item


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
    status: int,
    title: str,
    detail: str = "",
    instance: str = "",
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail or title}
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem. A 422 names each refused field in `errors`.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string", "description": "What is wrong, in English."},
                    "code": {
                        "type": "string",
                        "description": "Stable and machine-readable: a rule of the domain's "
                        "(`nik_length`, `window_ended`, ...) or pydantic's error type "
                        "(`missing`, `string_too_short`, ...), for clients to translate.",
                    },
                    "params": {
                        "type": "object",
                        "description": "The values `message` names, by name, for a translation.",
                        "additionalProperties": {"type": ["string", "number"]},
                    },
                },
            },
        },
    },
    "additionalProperties": True,
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
UNAUTHORIZED = "No valid bearer token: missing, malformed, expired or revoked."
INVALID = "A field is malformed; `errors` names each field and what it must be."


def problem_responses(
    described: Mapping[int, str], also: Mapping[int | str, dict[str, Any]] | None = None
) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=`: each status answered with an `application/problem+json` body,
    described as given; `also` adds to an answer (a description, an example, ...) or adds
    another (a 200 in some other media type)."""
    answers: dict[int | str, dict[str, Any]] = {
        status: {"description": text, "content": _problem_content()}
        for status, text in described.items()
    }
    for status, extra in (also or {}).items():
        refusal = str(status)[0] in "45"
        answer = answers.get(status, {"content": _problem_content()} if refusal else {})
        content = {**answer.get("content", {})}
        for media, spec in extra.get("content", {}).items():
            content[media] = {**content.get(media, {}), **spec}
        answers[status] = {**answer, **extra, "content": content}
    return answers


def validation_problem(errors: list[FieldError], instance: str = "") -> JSONResponse:
    fields = ", ".join(sorted({e.field for e in errors}))
    return problem_response(
        422, "Invalid request", f"Invalid fields: {fields}", instance,
        errors=[e.as_json() for e in errors],
    )  # fmt: skip


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _plain(context: Mapping[str, Any] | None) -> dict[str, str | int | float]:
    """A validation error's context values that JSON can carry (not the exception)."""
    return {
        name: value
        for name, value in (context or {}).items()
        if isinstance(value, str | int | float) and not isinstance(value, bool)
    }


def install_problem_handlers(app: FastAPI) -> None:
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            FieldError(_field_of(tuple(e["loc"])), e["msg"], e["type"], _plain(e.get("ctx")))
            for e in exc.errors()
        ]
        return validation_problem(errors, request.url.path)

    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(app, request.scope) or headers.get("Allow", "")
        return problem_response(
            exc.status_code, str(exc.detail), instance=request.url.path, headers=headers
        )

    async def on_problem(request: Request, exc: Problem) -> JSONResponse:
        # RFC 6750: a 401 names the scheme the client must use.
        headers = {"WWW-Authenticate": 'Bearer realm="ots"'} if exc.status == 401 else None
        return problem_response(
            exc.status, exc.title, exc.detail, request.url.path, headers, **exc.extra
        )

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


def allowed_methods(app: FastAPI, scope: Scope) -> str:
    """The `Allow` of a 405 (RFC 9110): every method some route serves at this path, where
    Starlette names only those of the first route that matched the path."""
    return ", ".join(
        method
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
        if any(r.matches({**scope, "method": method})[0] is Match.FULL for r in app.router.routes)
    )


def document_problems(app: FastAPI, max_body_bytes: int | None = None) -> None:
    """What the handlers above answer, in the OpenAPI document: the `Problem` schema, and the
    validation 422 as the `application/problem+json` it is, not FastAPI's own JSON."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = PROBLEM_SCHEMA
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        for path, item in document.get("paths", {}).items():
            for operation in item.values():
                responses = operation.get("responses", {})
                if path not in HEALTH_PATHS:
                    responses.setdefault("503", UNAVAILABLE)
                invalid = responses.get("422")
                if invalid is not None and PROBLEM not in invalid.get("content", {}):
                    responses["422"] = {"description": INVALID, "content": _problem_content()}
                if "requestBody" in operation:
                    responses.setdefault("400", {
                        "description": "The body cannot be read as JSON (it is not UTF-8 text).",
                        "content": _problem_content(),
                    })  # fmt: skip
                if max_body_bytes is not None and "requestBody" in operation:
                    responses.setdefault("413", {
                        "description": f"The body is over {max_body_bytes} bytes.",
                        "content": _problem_content(),
                    })  # fmt: skip
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


HEALTH_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
UNAVAILABLE: dict[str, Any] = {
    "description": "The database is not reachable: retry after `Retry-After` seconds.",
    "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 0}}},
    "content": {PROBLEM: {"schema": PROBLEM_REF}},
}


def _problem_content() -> dict[str, Any]:
    return {PROBLEM: {"schema": PROBLEM_REF}}


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


_READINESS_BODY = {
    "schema": {
        "type": "object",
        "required": ["ready", "checks"],
        "properties": {
            "ready": {"type": "boolean"},
            "checks": {"type": "object", "additionalProperties": {"type": "boolean"}},
        },
    }
}
READINESS: dict[int | str, dict[str, Any]] = {
    200: {"description": "Every dependency answers.", "content": {"application/json": _READINESS_BODY}},
    503: {"description": "Some dependency does not answer: `checks` says which.",
          "content": {"application/json": _READINESS_BODY}},
}  # fmt: skip


def install_health(app: FastAPI, ready_checks: dict[str, Check], *, metrics: bool = True) -> None:
    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], response_model=None, responses=READINESS)
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
    document_problems(app, max_body_bytes)
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
