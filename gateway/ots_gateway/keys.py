"""The device's Ed25519 key, kept in a file only its owner reads, and its enrolment request."""

import base64
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nacl.signing


@dataclass(frozen=True)
class DeviceKey:
    signing_key: nacl.signing.SigningKey

    @classmethod
    def generate(cls) -> "DeviceKey":
        return cls(nacl.signing.SigningKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> "DeviceKey":
        """The 32-byte RFC 8032 private key (the seed)."""
        return cls(nacl.signing.SigningKey(seed))

    @classmethod
    def load_or_create(cls, path: Path) -> "DeviceKey":
        """The key stored at `path` (base64 of the seed), made there (mode 0600) if absent."""
        if path.exists():
            return cls.from_seed(base64.b64decode(path.read_text()))
        key = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(base64.b64encode(key.seed).decode())
        return key

    @property
    def seed(self) -> bytes:
        return bytes(self.signing_key)

    @property
    def public_key(self) -> bytes:
        return bytes(self.signing_key.verify_key)

    @property
    def public_key_b64(self) -> str:
        """The 32-byte raw public key in standard base64, as enrolled."""
        return base64.b64encode(self.public_key).decode()

    def sign(self, message: bytes) -> bytes:
        return self.signing_key.sign(message).signature


def enrolment_request(
    device_id: str, team_id: str, key: DeviceKey, *, valid_for: timedelta = timedelta(days=365),
    now: datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    """What an operator sends intake to enrol the device: `PUT /v1/devices/<device_id>` with
    this body (an operator's token). The private key never leaves the device."""
    expires_at = (now or datetime.now(UTC)) + valid_for
    return {
        "method": "PUT",
        "path": f"/v1/devices/{device_id}",
        "body": {
            "team_id": team_id, "kind": "gateway", "public_key": key.public_key_b64,
            "expires_at": expires_at.isoformat(),
        },
    }  # fmt: skip
