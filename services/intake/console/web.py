"""What every console page shares: who is signed in (checked in one place), the CSRF check,
the language, and rendering a template in it."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from contracts.jember import kecamatan_names
from ots_runtime.auth import Principal, Role, mask_nik
from services.intake.console import labels
from services.intake.console.i18n import COOKIE, LANGUAGES, Language, chosen, language
from services.intake.console.session import (
    CSRF_FIELD,
    CSRF_HEADER,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    SessionKeys,
)

TEMPLATES = Path(__file__).with_name("templates")
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@dataclass(frozen=True)
class Services:
    """Where the console reaches dispatch's plans and metrics' reports."""

    dispatch: str
    metrics: str


class Console:
    def __init__(self, secret: str, services: Services, *, secure_cookies: bool = False) -> None:
        self.keys = SessionKeys(secret)
        self.services = services
        # In production the console is reached over TLS ended in front of intake, where the
        # request's own scheme says http: its cookies are Secure whatever that scheme says.
        self.secure_cookies = secure_cookies
        self.environments = {code: _environment(code) for code in LANGUAGES}


def _environment(code: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "svg"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    lang = language(code)
    env.install_gettext_translations(lang.translations, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        lang=lang,
        labels=labels,
        kecamatan=kecamatan_names(),
        venue_label=lang.label(labels.VENUE_TYPES),
        status_label=lang.label(labels.STATUSES),
        service_label=lang.label(labels.SERVICES),
        priority_label=lang.label(labels.PRIORITIES),
        reason_label=lang.label(labels.PRIORITY_REASONS),
        need_label=lang.label(labels.NEEDS),
        unassigned_label=lang.label(labels.UNASSIGNED_REASONS),
        kit_label=lang.label(labels.KITS),
        weekday_label=lang.label(labels.WEEKDAYS),
        kind_label=lang.label(labels.DEVICE_KINDS),
        agency_label=lang.label(labels.AGENCY_TYPES),
        role_label=lang.label(labels.ROLES),
    )
    env.filters.update(when=lang.when, day=lang.day, clock=lang.clock)
    return env


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def language_of(request: Request) -> Language:
    return chosen(request.cookies.get(COOKIE))


@dataclass(frozen=True)
class Visitor:
    """Someone signed in to the console: their token's principal, and the token itself, which
    the console presents to intake's API on their behalf."""

    who: Principal
    token: str
    csrf: str

    @property
    def operates(self) -> bool:
        return self.who.role is Role.OPERATOR

    @property
    def requests_visits(self) -> bool:
        return self.who.role in (Role.OPERATOR, Role.AGENCY)

    def nik(self, nik: str) -> str:
        """A viewer follows the work, never whom it concerns (the API masks too)."""
        return nik if self.who.sees_residents else mask_nik(nik)


class SignInNeeded(Exception):
    """No valid session: the page sends the browser to the sign-in form."""


class Forbidden(Exception):
    """Signed in, but this role may not use this page."""


class BadCsrf(Exception):
    """A form or htmx request without this session's CSRF token."""


async def principal_of(request: Request, token: str) -> Principal | None:
    """The one place where the console asks who a token is: intake's own verifier, on every
    request, so a revoked token ends its console sessions at once."""
    if not token:
        return None
    who: Principal | None = await request.app.state.tokens.verify(token)
    return who


async def signed_in(request: Request) -> Visitor:
    console = console_of(request)
    token = console.keys.unseal(request.cookies.get(SESSION_COOKIE))
    who = await principal_of(request, token) if token else None
    if token is None or who is None:
        raise SignInNeeded
    return Visitor(who, token, console.keys.csrf_for(token))


async def operator(request: Request) -> Visitor:
    visitor = await signed_in(request)
    if not visitor.operates:
        raise Forbidden
    return visitor


async def staff(request: Request) -> Visitor:
    """The department's operators and viewers: an agency sees only its own visits."""
    visitor = await signed_in(request)
    if not visitor.who.sees_every_visit:
        raise Forbidden
    return visitor


async def requester(request: Request) -> Visitor:
    visitor = await signed_in(request)
    if not visitor.requests_visits:
        raise Forbidden
    return visitor


async def checked_form(request: Request, visitor: Visitor) -> FormData:
    """The posted form, once its CSRF token (field or htmx header) is this session's."""
    form = await request.form()
    offered = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    if not console_of(request).keys.csrf_ok(visitor.token, str(offered) if offered else None):
        raise BadCsrf
    return form


async def signin_form_checked(request: Request) -> FormData:
    form = await request.form()
    offered = form.get(CSRF_FIELD)
    nonce = request.cookies.get(LOGIN_COOKIE)
    if not console_of(request).keys.csrf_ok(nonce, str(offered) if offered else None):
        raise BadCsrf
    return form


def render(
    request: Request,
    template: str,
    visitor: Visitor | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    lang = language_of(request)
    env = console_of(request).environments[lang.code]
    html = env.get_template(template).render(
        request=request, visitor=visitor, path=request.url.path, **context
    )
    return HTMLResponse(html, status_code=status_code, headers=page_headers())


def page_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def redirect(request: Request, to: str) -> Response:
    """A redirect after a form; an htmx request is told to navigate instead."""
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": to})
    return RedirectResponse(to, status_code=303)


def is_secure(request: Request) -> bool:
    console: Console = request.app.state.console
    return console.secure_cookies or request.url.scheme == "https"
