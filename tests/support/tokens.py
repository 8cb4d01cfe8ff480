"""The tests' token and biometric keys: made afresh by every test process, never committed."""

import base64
import os
from datetime import UTC, datetime, timedelta

from ots_runtime.auth import Role, TokenKeys, issue, new_key_pair, new_token_id
from ots_runtime.sealing import PrivateKey, public_text

SIGNING_KEY, PUBLIC_KEYS = new_key_pair("test")
KEYS = TokenKeys.parse(PUBLIC_KEYS, SIGNING_KEY)
BIOMETRIC_KEYS = f"test:{base64.b64encode(os.urandom(32)).decode()}"
BIOMETRIC_ACTIVE_KEY = "test"
DLQ_KEY = PrivateKey.generate("test-dlq")  # services get its public key only

SETTINGS = {"token_public_keys": PUBLIC_KEYS, "token_signing_key": SIGNING_KEY}
ENV = {
    "OTS_TOKEN_PUBLIC_KEYS": PUBLIC_KEYS, "OTS_TOKEN_SIGNING_KEY": SIGNING_KEY,
    "OTS_BIOMETRIC_KEYS": BIOMETRIC_KEYS, "OTS_BIOMETRIC_ACTIVE_KEY": BIOMETRIC_ACTIVE_KEY,
    "OTS_DLQ_PUBLIC_KEY": public_text(DLQ_KEY.public),
}  # fmt: skip


def signed_token(
    role: Role, agency: str = "dispendukcapil", *, valid_for: timedelta = timedelta(days=1)
) -> str:
    """A token as `ots tokens create` signs it, not in intake's register (none is needed to
    verify one)."""
    now = datetime.now(UTC)
    return issue(KEYS, role=role, agency=agency, token_id=new_token_id(), issued_at=now,
                 expires_at=now + valid_for)  # fmt: skip
