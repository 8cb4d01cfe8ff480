"""The simulated gateways' Ed25519 keys, kept under the data directory across runs."""

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat


def device_key(data_dir: Path, device_id: str) -> Ed25519PrivateKey:
    path = data_dir / "simulate" / f"{device_id}.key"
    if path.exists():
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(path.read_text()))
    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(raw).decode())
    return key
