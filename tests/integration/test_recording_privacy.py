"""Biometric samples rest encrypted, in object storage: unreadable without the key that sealed
them, and bound to their capture."""

import base64

import pytest
from cryptography.exceptions import InvalidTag

from contracts.enums import Modality
from services.recording.config import RecordingSettings
from services.recording.domain.sealing import Keyring
from services.recording.samples.keys import sample_key, unsealed_parts
from services.recording.samples.store import open_store
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
        "SELECT capture_id, visit_id, key_id, sample_key, sample_bytes, sha256, sample, nonce"
        " FROM recording.captures"
    )
    assert row["sample"] is None and row["nonce"] is None  # nothing of it in PostgreSQL
    blob = await open_store(config.samples_location()).get(row["sample_key"])
    assert row["sample_key"] == sample_key(scene.visit_id, blob)
    assert row["sample_bytes"] == len(blob) and row["sha256"] == capture.data["sha256"]
    sealed = unsealed_parts(row["key_id"], blob)
    assert b"ridge pattern" not in sealed.ciphertext
    assert base64.b64encode(sample)[:40] not in sealed.ciphertext
    assert config.keyring().open(sealed, bound_to=row["capture_id"]) == sample
    with pytest.raises(InvalidTag):
        Keyring({row["key_id"]: bytes(32)}, row["key_id"]).open(sealed, bound_to=row["capture_id"])
    with pytest.raises(InvalidTag):  # another capture's sample cannot be passed off as this one's
        config.keyring().open(sealed, bound_to="another-capture")
