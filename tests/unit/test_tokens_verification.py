"""Signed API tokens: what verifies, what is refused and why, and where the keys come from."""

import base64
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from ots_runtime.auth import (
    Principal,
    Refusal,
    Role,
    TokenKeys,
    TokenVerifier,
    issue,
    mask_nik,
    new_key_pair,
    token_keys,
)
from ots_runtime.settings import Settings
from services.recording.config import DEVELOPMENT_KEYS, RecordingSettings

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
KEYS = TokenKeys.parse(*reversed(new_key_pair("k1")))


def a_token(keys: TokenKeys = KEYS, role: Role = Role.AGENCY, days: int = 90) -> str:
    return issue(keys, role=role, agency="Dinas Sosial Jember", token_id="tok-1",
                 issued_at=NOW, expires_at=NOW + timedelta(days=days))  # fmt: skip


def verifier(at: datetime = NOW, keys: TokenKeys = KEYS) -> TokenVerifier:
    return TokenVerifier(TokenKeys(keys.public), clock=at.timestamp)


def b64url(value: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_a_token_names_its_role_agency_id_and_expiry_and_verifies_with_the_public_key_only() -> (
    None
):
    who = verifier().check(a_token())
    assert who == Principal(Role.AGENCY, "Dinas Sosial Jember", "tok-1", NOW + timedelta(days=90))
    assert isinstance(who, Principal) and not who.sees_every_visit and who.sees_residents


def test_a_viewer_sees_every_visit_but_no_resident() -> None:
    who = verifier().check(a_token(role=Role.VIEWER))
    assert isinstance(who, Principal) and who.sees_every_visit and not who.sees_residents


def test_an_expired_token_is_refused_as_expired() -> None:
    assert verifier(NOW + timedelta(days=90, seconds=1)).check(a_token()) is Refusal.EXPIRED
    assert "expired" in Refusal.EXPIRED.value


def test_a_revoked_token_is_refused_as_revoked_until_it_expires_anyway() -> None:
    checker = verifier()
    checker.revoked.add("tok-1", NOW + timedelta(days=90))
    assert checker.check(a_token()) is Refusal.REVOKED
    checker.revoked.forget_expired((NOW + timedelta(days=91)).timestamp())
    assert len(checker.revoked) == 0


@pytest.mark.parametrize(
    "token",
    ["", "ots_legacyopaquetoken", "a.b", "a.b.c.d", "tokén.with.accents", "é" * 40,
     "x" * 5000, "%%%.%%%.%%%"],
    ids=["empty", "opaque", "two-parts", "four-parts", "non-ascii", "latin1", "huge", "garbage"],
)  # fmt: skip
def test_anything_but_a_signed_token_is_refused_without_an_error(token: str) -> None:
    assert isinstance(verifier().check(token), Refusal)


def test_a_header_naming_its_key_oddly_or_nested_deeply_is_malformed_not_an_error() -> None:
    _, claims, signature = a_token().split(".")
    odd_kid = b64url({"alg": "EdDSA", "kid": ["k1"]})
    deep = base64.urlsafe_b64encode(b"[" * 1400).rstrip(b"=").decode()
    for header in (odd_kid, deep):
        assert verifier().check(f"{header}.{claims}.{signature}") is Refusal.MALFORMED


def test_a_token_changed_after_signing_is_refused() -> None:
    header, claims, signature = a_token().split(".")
    forged = json.loads(base64.urlsafe_b64decode(claims + "=="))
    forged["role"] = "operator"
    assert verifier().check(f"{header}.{b64url(forged)}.{signature}") is Refusal.BAD_SIGNATURE


def test_an_unsigned_token_is_refused_whatever_it_claims() -> None:
    _, claims, _ = a_token().split(".")
    unsigned = f"{b64url({'alg': 'none', 'kid': 'k1'})}.{claims}."
    assert verifier().check(unsigned) is Refusal.MALFORMED


def test_a_token_signed_by_another_key_is_refused() -> None:
    stranger = TokenKeys.parse(*reversed(new_key_pair("k1")))
    assert verifier().check(a_token(stranger)) is Refusal.BAD_SIGNATURE
    elsewhere = TokenKeys.parse(*reversed(new_key_pair("k9")))
    assert verifier().check(a_token(elsewhere)) is Refusal.UNKNOWN_KEY


def test_a_rotated_key_keeps_verifying_the_tokens_it_signed() -> None:
    old_signing, old_public = new_key_pair("k1")
    new_signing, new_public = new_key_pair("k2")
    both = TokenKeys.parse(f"{new_public},{old_public}", new_signing)
    old_token = a_token(TokenKeys.parse(old_public, old_signing))
    assert isinstance(verifier(keys=both).check(old_token), Principal)
    assert isinstance(verifier(keys=both).check(a_token(both)), Principal)


def test_niks_are_masked_to_their_last_four_digits() -> None:
    assert mask_nik("3509215205600003") == "************0003"


def urls() -> dict[str, str]:
    return {"nats_url": "nats://127.0.0.1:1", "database_url": "postgresql://127.0.0.1:1/ots"}


@pytest.mark.parametrize("env", ["test", "production"])
def test_outside_development_the_public_keys_must_be_configured(env: str) -> None:
    settings = Settings(env=env, **urls())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="OTS_TOKEN_PUBLIC_KEYS must be set"):
        token_keys(settings)


def test_a_malformed_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="OTS_TOKEN_PUBLIC_KEYS: key 'k1'") as refused:
        TokenKeys.parse("k1:c2VjcmV0", None)
    assert "c2VjcmV0" not in str(refused.value)


def test_development_keeps_one_key_pair_with_the_data_readable_by_its_owner_only(
    tmp_path: Path,
) -> None:
    settings = Settings(env="development", data_dir=str(tmp_path))
    first, again = token_keys(settings), token_keys(settings)
    assert first.signing is not None and again.signing is not None
    assert first.signing[0] == again.signing[0]
    assert isinstance(verifier(keys=again).check(a_token(first)), Principal)
    mode = (tmp_path / "token-signing-key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_recording_refuses_the_development_biometric_key_unless_development(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTS_ENV", raising=False)
    monkeypatch.delenv("OTS_BIOMETRIC_KEYS", raising=False)
    for explicit in ({}, {"env": "test"}, {"env": "production"}):
        with pytest.raises(ValidationError, match="OTS_BIOMETRIC_KEYS must be set"):
            RecordingSettings(**explicit)  # type: ignore[arg-type]
    assert RecordingSettings(env="development").biometric_keys == DEVELOPMENT_KEYS
