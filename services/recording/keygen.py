"""`ots device keygen`: a new Ed25519 key pair for a capture device or gateway."""

import base64

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)


def new_key_pair() -> tuple[str, str]:
    """(public key, private key): both raw 32 bytes in standard base64, as the contract says."""
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    private = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(public).decode(), base64.b64encode(private).decode()


def keygen_text() -> str:
    public, private = new_key_pair()
    return (
        f"public_key:  {public}\n"
        f"private_key: {private}\n"
        "# Enrol the public key with PUT /v1/devices/{device_id}; keep the private key on the\n"
        "# device only (it signs every capture, exception, service and visit-closed message).\n"
    )
