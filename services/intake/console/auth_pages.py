"""Sign in with a token, sign out, switch language."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from services.intake.console.i18n import COOKIE, LANGUAGES
from services.intake.console.session import (
    LOGIN_COOKIE,
    PATH,
    SESSION_COOKIE,
    clear_cookie,
    new_nonce,
    set_cookie,
)
from services.intake.console.web import (
    Visitor,
    checked_form,
    console_of,
    is_secure,
    principal_of,
    render,
    signed_in,
    signin_form_checked,
)

router = APIRouter()


@router.get("/")
async def home(visitor: Annotated[Visitor, Depends(signed_in)]) -> Response:
    return RedirectResponse(f"{PATH}/visits", status_code=303)


@router.get("/signin")
async def signin_page(request: Request) -> Response:
    return _signin_form(request)


def _signin_form(request: Request, error: str = "", status_code: int = 200) -> Response:
    nonce = new_nonce()
    csrf = console_of(request).keys.csrf_for(nonce)
    response = render(request, "signin.html", error=error, csrf=csrf, status_code=status_code)
    set_cookie(response, LOGIN_COOKIE, nonce, secure=is_secure(request))
    return response


@router.post("/signin")
async def signin(request: Request) -> Response:
    form = await signin_form_checked(request)
    token = str(form.get("token") or "").strip()
    if await principal_of(request, token) is None:
        return _signin_form(request, error="unknown_token", status_code=401)
    response = RedirectResponse(f"{PATH}/visits", status_code=303)
    secure = is_secure(request)
    set_cookie(response, SESSION_COOKIE, console_of(request).keys.seal(token), secure=secure)
    clear_cookie(response, LOGIN_COOKIE, secure=secure)
    return response


@router.post("/signout")
async def signout(request: Request, visitor: Annotated[Visitor, Depends(signed_in)]) -> Response:
    await checked_form(request, visitor)
    response = RedirectResponse(f"{PATH}/signin", status_code=303)
    clear_cookie(response, SESSION_COOKIE, secure=is_secure(request))
    return response


@router.get("/language/{code}")
async def switch_language(request: Request, code: str, back: str = "") -> Response:
    """A preference, not a change of data: a plain link, kept for a year."""
    target = back if back.startswith(f"{PATH}/") and "//" not in back else f"{PATH}/"
    response = RedirectResponse(target, status_code=303)
    if code in LANGUAGES:
        response.set_cookie(COOKIE, code, max_age=365 * 24 * 3600, path=PATH, samesite="strict",
                            httponly=True, secure=is_secure(request))  # fmt: skip
    return response
