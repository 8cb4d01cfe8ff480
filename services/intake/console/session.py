"""The console's session: the signed-in token sealed in an HttpOnly, SameSite=Strict cookie,
and a CSRF token derived from it that every form and htmx request must carry.

Both are stateless (keyed from the service's secret), so any replica of intake accepts a
session another replica opened."""

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.responses import Response

SESSION_COOKIE = "ots_session"
LOGIN_COOKIE = "ots_signin"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
PATH = "/console"
LIFETIME_SECONDS = 12 * 3600
"""A working day and some: staff sign in again each morning."""


def _key(secret: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        secret.encode()
    )


class SessionKeys:
    def __init__(self, secret: str) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(_key(secret, b"ots-console-session")))
        self._csrf = _key(secret, b"ots-console-csrf")

    def seal(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode()

    def unseal(self, cookie: str | None) -> str | None:
        """The token in a session cookie, or None if it is missing, forged or too old."""
        if not cookie:
            return None
        try:
            return self._fernet.decrypt(cookie.encode(), ttl=LIFETIME_SECONDS).decode()
        except (InvalidToken, UnicodeDecodeError):
            return None

    def csrf_for(self, binding: str) -> str:
        """The CSRF token of a session (or of a sign-in form's nonce)."""
        return hmac.new(self._csrf, binding.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, binding: str | None, offered: str | None) -> bool:
        if not binding or not offered:
            return False
        return hmac.compare_digest(self.csrf_for(binding), offered)


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def set_cookie(response: Response, name: str, value: str, *, secure: bool) -> None:
    response.set_cookie(
        name, value, max_age=LIFETIME_SECONDS, path=PATH, httponly=True, samesite="strict",
        secure=secure,
    )  # fmt: skip


def clear_cookie(response: Response, name: str, *, secure: bool) -> None:
    response.delete_cookie(name, path=PATH, httponly=True, samesite="strict", secure=secure)
