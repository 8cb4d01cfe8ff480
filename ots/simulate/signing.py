"""The contract's device signatures and capture chain, from the device's side.

Written from the contract ("Device signatures and the capture chain"), not from recording:
the simulator signs what the contract defines, and recording must accept it.
"""

import hashlib
import json
from typing import Any

UNSIGNED_MEMBERS = ("signature", "sample")
"""The members of `data` a signature does not cover."""
GENESIS_HASH = hashlib.sha256(b"").hexdigest()
"""The previous chain hash of a person's first capture in a visit."""


def canonical_bytes(data: dict[str, Any]) -> bytes:
    """`data` less `signature` and `sample`: JSON with keys sorted, no insignificant whitespace,
    UTF-8 with non-ASCII characters unescaped, exactly the contract's `json.dumps` form."""
    unsigned = {k: v for k, v in data.items() if k not in UNSIGNED_MEMBERS}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sample_sha256(sample: bytes) -> str:
    """Lowercase hex SHA-256 of the raw (base64-decoded) sample."""
    return hashlib.sha256(sample).hexdigest()


def next_chain_hash(previous_chain_hash: str, sample_digest: str) -> str:
    """`sha256(bytes.fromhex(previous chain_hash) + bytes.fromhex(sha256))`, lowercase hex."""
    return hashlib.sha256(
        bytes.fromhex(previous_chain_hash) + bytes.fromhex(sample_digest)
    ).hexdigest()
