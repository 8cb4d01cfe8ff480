"""Completeness, signatures and sealing: the rules recording applies to every capture."""

import base64
import json

import pytest
from cryptography.exceptions import InvalidTag

from contracts import subjects
from contracts.enums import Modality
from contracts.examples import DEVICE_PUBLIC_KEY, EXAMPLES
from contracts.gateway.inbound import read
from contracts.gateway.reasons import Reason, Rejected
from contracts.gateway.signing import signature_is_valid
from services.recording.config import DEVELOPMENT_KEYS, RecordingSettings
from services.recording.domain.completeness import ALL_SLOTS, SlotState, Thresholds, evaluate
from services.recording.domain.sealing import Keyring

FINGER_SLOT = (Modality.FINGER, "right_thumb")


def all_at(quality: int) -> dict[tuple[Modality, str], list[int]]:
    return {slot: [quality] for slot in ALL_SLOTS}


def test_a_person_is_complete_when_every_slot_is_captured_above_threshold() -> None:
    assert evaluate(all_at(80), set(), Thresholds()).complete
    assert len(ALL_SLOTS) == 14


def test_a_low_capture_asks_for_another_until_three_attempts_then_is_accepted_flagged() -> None:
    qualities = all_at(80)
    qualities[FINGER_SLOT] = [10, 20]
    status = evaluate(qualities, set(), Thresholds())
    assert status.slots[FINGER_SLOT] is SlotState.RECAPTURE and not status.complete
    qualities[FINGER_SLOT] = [10, 20, 15]
    status = evaluate(qualities, set(), Thresholds())
    assert status.complete and status.flagged and status.min_quality()[Modality.FINGER] == 20


def test_an_exception_stands_in_for_a_missing_finger() -> None:
    qualities = all_at(80)
    del qualities[FINGER_SLOT]
    assert evaluate(qualities, {FINGER_SLOT}, Thresholds()).complete


def test_the_contracts_signed_example_verifies_and_a_changed_field_does_not() -> None:
    capture = EXAMPLES[subjects.GATEWAY_CAPTURE.pattern].model_dump(mode="json")
    key = base64.b64decode(DEVICE_PUBLIC_KEY)
    assert signature_is_valid(key, capture)
    assert signature_is_valid(key, {**capture, "sample": "AAAA"})  # bound through its sha256
    assert not signature_is_valid(key, {**capture, "quality": 99})


def test_an_oversized_or_unreadable_message_is_refused_before_parsing() -> None:
    subject = "ots.gateway.gw-1.capture"
    with pytest.raises(Rejected) as too_large:
        read(subject, b"x" * 2048, max_bytes=1024)
    with pytest.raises(Rejected) as malformed:
        read(subject, json.dumps({"specversion": "1.0"}).encode(), max_bytes=1024)
    assert (too_large.value.reason, malformed.value.reason) == (Reason.TOO_LARGE, Reason.MALFORMED)


def test_a_sealed_sample_opens_only_with_its_key_and_its_capture() -> None:
    keyring = Keyring({"k1": bytes(range(32)), "k2": bytes(32)}, "k1")
    sealed = keyring.seal(b"iris texture", bound_to="cap-1")
    assert keyring.open(sealed, bound_to="cap-1") == b"iris texture"
    with pytest.raises(InvalidTag):
        keyring.open(sealed, bound_to="cap-2")
    assert "iris" not in repr(keyring) and str(bytes(range(32))) not in repr(keyring)


def test_production_refuses_the_development_key() -> None:
    with pytest.raises(ValueError, match="development key"):
        RecordingSettings(env="production", biometric_keys=DEVELOPMENT_KEYS)
    key = base64.b64encode(bytes(range(32))).decode()
    settings = RecordingSettings(
        env="production", biometric_keys=f"k7:{key}", biometric_active_key="k7"
    )
    assert settings.keyring().active == "k7" and key not in repr(settings)
