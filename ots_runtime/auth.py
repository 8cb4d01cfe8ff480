"""API tokens, verified the same way by every service.

A token is a JWT (RFC 7519) signed with Ed25519 (`alg` `EdDSA`, RFC 8037) by intake's signing
key: `ots tokens create` issues it, every service verifies it offline with the public keys in
`OTS_TOKEN_PUBLIC_KEYS`. Its claims name the role, the agency, an id (`jti`) and the expiry.
A revocation is an `ots.token.revoked` event on OTS_EVENTS, published through intake's outbox;
each replica replays every one of them when it starts and polls for new ones every
`OTS_TOKEN_REVOCATION_POLL_SECONDS`, so a revoked token is refused everywhere within seconds.
"""

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from contracts.events import TokenRevoked
from contracts.streams import EVENTS
from contracts.subjects import TOKEN_REVOKED, envelope_model
from ots_runtime.http import Problem
from ots_runtime.service import ServiceRuntime
from ots_runtime.settings import Settings

log = logging.getLogger(__name__)

ISSUER = "ots/intake"
MAX_TOKEN_CHARS = 2048
DEVELOPMENT_KEY_FILE = "token-signing-key"
_ID = re.compile(r"^[A-Za-z0-9_:-]{1,64}$")


class Role(StrEnum):
    OPERATOR = "operator"
    AGENCY = "agency"
    VIEWER = "viewer"


@dataclass(frozen=True)
class Principal:
    role: Role
    agency: str
    token_id: str = ""
    expires_at: datetime | None = None

    @property
    def sees_every_visit(self) -> bool:
        """Operators and viewers see every visit; an agency only those it requested."""
        return self.role is not Role.AGENCY

    @property
    def sees_residents(self) -> bool:
        """A viewer sees figures and statuses: NIKs masked to their last four digits, no names."""
        return self.role is not Role.VIEWER


def mask_nik(nik: str) -> str:
    return "*" * max(len(nik) - 4, 0) + nik[-4:]


class Refusal(StrEnum):
    """Why a token is refused: the `detail` of the 401."""

    MISSING = "a bearer token is required (Authorization: Bearer <token from ots tokens create>)"
    MALFORMED = "the bearer token is not an OTS token"
    UNKNOWN_KEY = "the bearer token is signed by a key this service does not know"
    BAD_SIGNATURE = "the bearer token's signature does not verify"
    EXPIRED = "the bearer token has expired; ask an operator for a new one"
    REVOKED = "the bearer token has been revoked"


# Keys ------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _key_items(spec: str, setting: str) -> dict[str, bytes]:
    """`k1:<base64 32 bytes>,k2:<...>` → {key id: raw key}; values never echoed in errors."""
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        kid, _, encoded = item.partition(":")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error):
            raw = b""
        if not _ID.match(kid) or len(raw) != 32:
            raise ValueError(f"{setting}: key {kid!r} is not `id:<base64 of 32 bytes>`")
        keys[kid] = raw
    return keys


@dataclass(frozen=True)
class TokenKeys:
    public: dict[str, Ed25519PublicKey]
    signing: tuple[str, Ed25519PrivateKey] | None = None

    @classmethod
    def parse(cls, public: str | None, signing: str | None) -> "TokenKeys":
        keys = {
            kid: Ed25519PublicKey.from_public_bytes(raw)
            for kid, raw in _key_items(public or "", "OTS_TOKEN_PUBLIC_KEYS").items()
        }
        signer = None
        if signing:
            items = _key_items(signing, "OTS_TOKEN_SIGNING_KEY")
            if len(items) != 1:
                raise ValueError("OTS_TOKEN_SIGNING_KEY holds exactly one `id:<base64>` key")
            kid, raw = next(iter(items.items()))
            signer = (kid, Ed25519PrivateKey.from_private_bytes(raw))
            keys.setdefault(kid, signer[1].public_key())
        return cls(keys, signer)


def new_key_pair(kid: str | None = None) -> tuple[str, str]:
    """(`OTS_TOKEN_SIGNING_KEY`, `OTS_TOKEN_PUBLIC_KEYS`) values of a fresh key pair."""
    kid = kid or "k" + datetime.now(UTC).strftime("%Y%m%d")
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes_raw()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return f"{kid}:{_b64(seed)}", f"{kid}:{_b64(public)}"


def _development_signing_key(data_dir: str) -> str:
    """The key pair `ots run` and the commands beside it share, made once and kept with the
    data (owner-only), never derived from anything public."""
    path = Path(data_dir) / DEVELOPMENT_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        signing, _ = new_key_pair("dev-" + secrets.token_hex(4))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(signing)
    return path.read_text().strip()


def token_keys(settings: Settings) -> TokenKeys:
    """The keys this process verifies (and, if it has one, signs) with. Fails closed: outside
    `OTS_ENV=development` the public keys must be configured."""
    if settings.token_public_keys or settings.token_signing_key:
        keys = TokenKeys.parse(settings.token_public_keys, settings.token_signing_key)
        if keys.public:
            return keys
    if settings.env == "development":
        return TokenKeys.parse(None, _development_signing_key(settings.data_dir))
    raise RuntimeError(
        f"OTS_TOKEN_PUBLIC_KEYS must be set (OTS_ENV is {settings.env}): intake's token public "
        "key(s), `kid:<base64>`; `ots tokens keygen` makes a pair"
    )


# Tokens ----------------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json_part(value: dict[str, Any]) -> str:
    return _b64url(json.dumps(value, separators=(",", ":"), sort_keys=True).encode())


def new_token_id() -> str:
    return "tok-" + secrets.token_hex(8)


def issue(
    keys: TokenKeys,
    *,
    role: Role,
    agency: str,
    token_id: str,
    issued_at: datetime,
    expires_at: datetime,
) -> str:
    if keys.signing is None:
        raise RuntimeError("OTS_TOKEN_SIGNING_KEY is required to issue tokens")
    kid, private = keys.signing
    header = _json_part({"alg": "EdDSA", "typ": "JWT", "kid": kid})
    claims = _json_part({
        "iss": ISSUER, "jti": token_id, "role": role.value, "agency": agency,
        "iat": int(issued_at.timestamp()), "exp": int(expires_at.timestamp()),
    })  # fmt: skip
    signed = f"{header}.{claims}"
    return f"{signed}.{_b64url(private.sign(signed.encode()))}"


def _claims(token: str, public: dict[str, Ed25519PublicKey]) -> dict[str, Any] | Refusal:
    """The verified claims of `token`, or why it is refused (not its expiry nor revocation)."""
    if len(token) > MAX_TOKEN_CHARS or not token.isascii():
        return Refusal.MALFORMED
    parts = token.split(".")
    if len(parts) != 3:
        return Refusal.MALFORMED
    try:
        header = json.loads(_unb64url(parts[0]))
        claims = json.loads(_unb64url(parts[1]))
        signature = _unb64url(parts[2])
    except (ValueError, binascii.Error, RecursionError):  # RecursionError: `[[[[…` nesting
        return Refusal.MALFORMED
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return Refusal.MALFORMED
    if header.get("alg") != "EdDSA":  # never `none`, never a symmetric algorithm
        return Refusal.MALFORMED
    kid = header.get("kid")
    if not isinstance(kid, str):
        return Refusal.MALFORMED
    key = public.get(kid)
    if key is None:
        return Refusal.UNKNOWN_KEY
    try:
        key.verify(signature, f"{parts[0]}.{parts[1]}".encode())
    except InvalidSignature:
        return Refusal.BAD_SIGNATURE
    well_formed = (
        claims.get("iss") == ISSUER
        and isinstance(claims.get("jti"), str) and bool(_ID.match(claims["jti"]))
        and claims.get("role") in tuple(Role)
        and isinstance(claims.get("agency"), str) and bool(claims["agency"])
        and isinstance(claims.get("exp"), int)
    )  # fmt: skip
    return claims if well_formed else Refusal.MALFORMED


class RevokedSet:
    """The ids of revoked tokens, each kept until the token would have expired anyway."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def add(self, token_id: str, expires_at: datetime) -> None:
        self._until[token_id] = expires_at.timestamp()

    def __contains__(self, token_id: str) -> bool:
        return token_id in self._until

    def __len__(self) -> int:
        return len(self._until)

    def forget_expired(self, now: float) -> None:
        for token_id in [t for t, until in self._until.items() if until <= now]:
            del self._until[token_id]


class TokenVerifier:
    """Verifies bearer tokens offline. A signature is checked once per token string (a bounded
    cache); expiry and revocation are checked on every request."""

    def __init__(
        self,
        keys: TokenKeys,
        revoked: RevokedSet | None = None,
        clock: Callable[[], float] = time.time,
        cache_size: int = 10_000,
    ) -> None:
        self._public = dict(keys.public)
        self.revoked = revoked or RevokedSet()
        self._clock, self._cache_size = clock, cache_size
        self._verified: dict[str, Principal | Refusal] = {}

    def check(self, token: str) -> Principal | Refusal:
        if not token:
            return Refusal.MISSING
        known = self._verified.get(token)
        if known is None:
            known = self._principal(token)
            if len(self._verified) >= self._cache_size:
                self._verified.clear()
            self._verified[token] = known
        if isinstance(known, Refusal):
            return known
        assert known.expires_at is not None
        if known.expires_at.timestamp() <= self._clock():
            return Refusal.EXPIRED
        if known.token_id in self.revoked:
            return Refusal.REVOKED
        return known

    async def verify(self, token: str) -> Principal | None:
        """The principal of a valid token, else None (the console's interface)."""
        checked = self.check(token)
        return None if isinstance(checked, Refusal) else checked

    def _principal(self, token: str) -> Principal | Refusal:
        claims = _claims(token, self._public)
        if isinstance(claims, Refusal):
            return claims
        return Principal(
            Role(claims["role"]), claims["agency"], claims["jti"],
            datetime.fromtimestamp(claims["exp"], UTC),
        )  # fmt: skip


# Revocations -----------------------------------------------------------------------------------


STREAM_NOT_FOUND = 10059  # JetStream's error code; "no message" shares the 404 status


class RevocationFeed:
    """Feeds a `RevokedSet` from `ots.token.revoked` on OTS_EVENTS: every revocation at start,
    then new ones as they come. It reads the stream by sequence (`STREAM.MSG.GET` with
    `next_by_subj`), which every service may already do, so it needs no consumer: each replica
    reads for itself and none shares a cursor."""

    def __init__(self, js: JetStreamContext, revoked: RevokedSet, poll_seconds: float) -> None:
        self._js, self.revoked, self._poll = js, revoked, poll_seconds
        self._next_seq = 1

    async def catch_up(self) -> int:
        """Read every revocation not read yet; how many were read."""
        model = envelope_model(TOKEN_REVOKED)
        read = 0
        while True:
            try:
                msg = await self._js.get_msg(
                    EVENTS.name, seq=self._next_seq, subject=TOKEN_REVOKED.pattern, next=True
                )
            except NotFoundError as error:
                if error.err_code == STREAM_NOT_FOUND:
                    raise  # fail closed: the supervisor retries and /readyz says 503 meanwhile
                await self._restart_if_recreated()
                return read
            assert msg.seq is not None
            self._next_seq = msg.seq + 1
            try:
                data = model.model_validate_json(msg.data or b"").data
            except ValidationError:
                log.error("ignoring a malformed %s at sequence %d", TOKEN_REVOKED.pattern, msg.seq)
                continue
            assert isinstance(data, TokenRevoked)
            self.revoked.add(data.token_id, data.expires_at)
            read += 1

    async def _restart_if_recreated(self) -> None:
        """A stream recreated since the last read starts its sequences again: so does the
        reader, or it would skip every revocation below its old position."""
        last = (await self._js.stream_info(EVENTS.name)).state.last_seq
        if last + 1 < self._next_seq:
            log.warning("%s was recreated: reading its revocations again", EVENTS.name)
            self._next_seq = 1

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.catch_up()
            self.revoked.forget_expired(time.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._poll)


# HTTP ------------------------------------------------------------------------------------------

bearer_scheme = HTTPBearer(
    auto_error=False, description="A token from `ots tokens create` (docs/security.md)"
)


def authenticate(request: Request) -> Principal:
    """The request's principal, or 401 saying why the token is refused."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    verifier: TokenVerifier = request.app.state.tokens
    checked = verifier.check(token.strip()) if scheme.lower() == "bearer" else Refusal.MISSING
    if isinstance(checked, Refusal):
        raise Problem(401, "Unauthorized", checked.value)
    return checked


async def _principal(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    return authenticate(request)


Who = Annotated[Principal, Depends(_principal)]


def require(who: Principal, *roles: Role) -> None:
    if who.role not in roles:
        raise Problem(403, "Forbidden", f"the {who.role} role may not do this")


async def start_token_verification(
    app: FastAPI, settings: Settings, runtime: ServiceRuntime, keys: TokenKeys
) -> TokenVerifier:
    """`app.state.tokens`, knowing every revocation so far before the service answers a
    request, then kept up to date for the service's life."""
    verifier = TokenVerifier(keys)
    feed = RevocationFeed(runtime.js, verifier.revoked, settings.token_revocation_poll_seconds)
    await feed.catch_up()
    runtime.keep_running("token-revocations", feed.run)
    app.state.tokens = verifier
    return verifier
