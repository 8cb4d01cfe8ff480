"""Where a sealed sample lives: keyed by its content, under its visit.

The object holds the AES-GCM nonce and ciphertext (associated data: the capture id); the key
id that sealed it, the plaintext's SHA-256 and the size stay in PostgreSQL beside its key.
"""

import hashlib

from services.recording.domain.sealing import NONCE_BYTES, Sealed


def sealed_bytes(sealed: Sealed) -> bytes:
    return sealed.nonce + sealed.ciphertext


def sample_key(visit_id: str, blob: bytes) -> str:
    """`<visit id>/<sha256 of the sealed bytes>`: a visit's samples under one prefix, so that
    they can be listed or removed together; the same bytes always land on the same key."""
    return f"{visit_id}/{hashlib.sha256(blob).hexdigest()}"


def visit_of(key: str) -> str:
    return key.partition("/")[0]


def unsealed_parts(key_id: str, blob: bytes) -> Sealed:
    """The object's bytes as `Keyring.open` takes them."""
    return Sealed(key_id, blob[:NONCE_BYTES], blob[NONCE_BYTES:])
