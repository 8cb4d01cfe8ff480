"""Biometric samples rest encrypted: unreadable without the key that sealed them."""

import base64

import pytest
from cryptography.exceptions import InvalidTag

from contracts.enums import Modality
from services.recording.config import RecordingSettings
from services.recording.domain.sealing import Keyring, Sealed
from tests.integration.test_recording_fixtures import (  # noqa: F401 (fixtures)
    Scene,
    default_config,
    eventually,
    gateway_drained,
    running_scene,
)


async def test_a_stored_sample_is_unreadable_without_the_key(
    scene: Scene, config: RecordingSettings
) -> None:
    sample = b"\xff\xa0\xff\xa8" + b"ridge pattern of a right thumb " * 500
    capture = scene.device.capture(scene.visit_id, scene.niks[0], Modality.FINGER, "right_thumb",
                                   sample=sample)  # fmt: skip
    await scene.send([capture])
    await eventually(lambda: gateway_drained(scene.nc))

    row = await scene.db.fetchrow(
        "SELECT capture_id, key_id, nonce, sample FROM recording.captures"
    )
    sealed = Sealed(row["key_id"], row["nonce"], row["sample"])
    assert b"ridge pattern" not in sealed.ciphertext
    assert base64.b64encode(sample)[:40] not in sealed.ciphertext
    assert config.keyring().open(sealed, bound_to=row["capture_id"]) == sample
    with pytest.raises(InvalidTag):
        Keyring({row["key_id"]: bytes(32)}, row["key_id"]).open(sealed, bound_to=row["capture_id"])
