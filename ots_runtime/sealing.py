"""Sealed boxes: bytes only the holder of an X25519 private key can open.

Each box has a fresh ephemeral key pair: X25519 with the recipient's public key, HKDF-SHA256
(salted with both public keys) to an AES-256-GCM key used once. Associated data binds a box
to what it belongs to, so that one moved elsewhere, or altered, does not open.

A key is written `kid:<standard base64 of the 32 raw bytes>`; a box
`v1.<kid>.<epk>.<nonce>.<ciphertext>`, each part URL-safe base64 without padding.
"""

import base64
import binascii
import os
import re
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v1"
_INFO = b"ots sealed box v1"
_KID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_NONCE_BYTES = 12


class SealError(ValueError):
    """A box that does not open: altered, for other associated data, or not a box at all."""


@dataclass(frozen=True)
class PublicKey:
    kid: str
    key: X25519PublicKey

    @classmethod
    def parse(cls, text: str, setting: str = "OTS_DLQ_PUBLIC_KEY") -> "PublicKey":
        kid, raw = _key_item(text, setting)
        return cls(kid, X25519PublicKey.from_public_bytes(raw))

    def raw(self) -> bytes:
        return self.key.public_bytes_raw()


@dataclass(frozen=True)
class PrivateKey:
    kid: str
    key: X25519PrivateKey

    @classmethod
    def generate(cls, kid: str | None = None) -> "PrivateKey":
        return cls(kid or f"dlq-{secrets.token_hex(4)}", X25519PrivateKey.generate())

    @property
    def public(self) -> PublicKey:
        return PublicKey(self.kid, self.key.public_key())

    def text(self) -> str:
        return f"{self.kid}:{base64.b64encode(self.key.private_bytes_raw()).decode()}"


def public_text(key: PublicKey) -> str:
    return f"{key.kid}:{base64.b64encode(key.raw()).decode()}"


def private_keys(text: str, setting: str = "OTS_DLQ_PRIVATE_KEY") -> dict[str, PrivateKey]:
    """Every `kid:<base64>` key in `text` (comma- or line-separated: the old ones too, for the
    boxes sealed before a rotation)."""
    keys: dict[str, PrivateKey] = {}
    for item in re.split(r"[,\s]+", text.strip()):
        if item:
            kid, raw = _key_item(item, setting)
            keys[kid] = PrivateKey(kid, X25519PrivateKey.from_private_bytes(raw))
    if not keys:
        raise ValueError(f"{setting} holds no key")
    return keys


def _key_item(text: str, setting: str) -> tuple[str, bytes]:
    kid, sep, b64 = text.strip().partition(":")
    if not sep or not _KID.match(kid):
        raise ValueError(f"{setting} must be `kid:<base64 of 32 bytes>`")
    try:
        raw = base64.b64decode(b64, validate=True)
    except binascii.Error:
        raise ValueError(f"{setting}: the key of {kid} is not base64") from None
    if len(raw) != 32:
        raise ValueError(f"{setting}: the key of {kid} is {len(raw)} bytes, not 32")
    return kid, raw


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _aead_key(shared: bytes, epk: bytes, recipient: bytes) -> AESGCM:
    key = HKDF(SHA256(), length=32, salt=epk + recipient, info=_INFO).derive(shared)
    return AESGCM(key)


def _associated(kid: str, aad: bytes) -> bytes:
    return f"{VERSION}.{kid}.".encode() + aad


def seal(to: PublicKey, plaintext: bytes, aad: bytes) -> str:
    ephemeral = X25519PrivateKey.generate()
    epk = ephemeral.public_key().public_bytes_raw()
    box = _aead_key(ephemeral.exchange(to.key), epk, to.raw())
    nonce = os.urandom(_NONCE_BYTES)
    sealed = box.encrypt(nonce, plaintext, _associated(to.kid, aad))
    return ".".join((VERSION, to.kid, _b64(epk), _b64(nonce), _b64(sealed)))


def kid_of(box: str) -> str:
    """Whose public key `box` was sealed to; a `SealError` if it is no box."""
    parts = box.split(".")
    if len(parts) != 5 or parts[0] != VERSION or not _KID.match(parts[1]):
        raise SealError("not a sealed box of version v1")
    return parts[1]


def open_sealed(keys: dict[str, PrivateKey], box: str, aad: bytes) -> bytes:
    kid = kid_of(box)
    if kid not in keys:
        raise KeyError(kid)
    key = keys[kid]
    try:
        epk, nonce, sealed = (_unb64(part) for part in box.split(".")[2:])
        peer = X25519PublicKey.from_public_bytes(epk)
        aead = _aead_key(key.key.exchange(peer), epk, key.public.raw())
        return aead.decrypt(nonce, sealed, _associated(kid, aad))
    except (InvalidTag, ValueError, binascii.Error):
        raise SealError(
            "the sealed box does not open: it was altered, or belongs to something else"
        ) from None
