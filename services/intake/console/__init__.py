"""The console: operators and partner agencies in the browser, served by intake at /console/.

Server-rendered (Jinja2) with htmx for the parts that change; a client of intake's own API."""

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from ots_runtime.settings import Settings
from services.intake.console import (
    auth_pages,
    fleet_pages,
    planning_pages,
    request_pages,
    visit_pages,
)
from services.intake.console.session import PATH
from services.intake.console.web import (
    BadCsrf,
    Console,
    Forbidden,
    Services,
    SignInNeeded,
    redirect,
    render,
)

STATIC = Path(__file__).with_name("static")
PAGES = (auth_pages, visit_pages, request_pages, fleet_pages, planning_pages)


LOCAL_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def service_url(settings: Settings, service: str) -> str:
    """Where intake reaches dispatch or metrics: `OTS_DISPATCH_URL` / `OTS_METRICS_URL` where
    they run apart (containers, Kubernetes), else this machine's port as `ots run` starts them."""
    named = {"dispatch": settings.dispatch_url, "metrics": settings.metrics_url}.get(service)
    if named:
        return named.rstrip("/")
    host = LOCAL_HOSTS.get(settings.bind_host, settings.bind_host)
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{settings.port_of(service)}"


def install_console(app: FastAPI, settings: Settings, session_key: str) -> None:
    """`session_key`: intake's OTS_TOKEN_PEPPER (services/intake/config.py)."""
    services = Services(service_url(settings, "dispatch"), service_url(settings, "metrics"))
    app.state.console = Console(session_key, services, secure_cookies=settings.env == "production")
    router = APIRouter(prefix=PATH, include_in_schema=False)
    for page in PAGES:
        router.include_router(page.router)
    app.include_router(router)
    app.mount(f"{PATH}/static", StaticFiles(directory=STATIC), name="console-static")

    async def sign_in_first(request: Request, exc: Exception) -> Response:
        return redirect(request, f"{PATH}/signin")

    async def forbidden(request: Request, exc: Exception) -> Response:
        return render(request, "forbidden.html", None, status_code=403)

    async def bad_csrf(request: Request, exc: Exception) -> Response:
        return render(request, "bad_csrf.html", None, status_code=403)

    app.add_exception_handler(SignInNeeded, sign_in_first)
    app.add_exception_handler(Forbidden, forbidden)
    app.add_exception_handler(BadCsrf, bad_csrf)
