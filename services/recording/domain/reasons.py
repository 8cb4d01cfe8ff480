"""Why a gateway message is refused: the `reason` of `ots.recording.rejected`."""

from enum import StrEnum


class Reason(StrEnum):
    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    UNKNOWN_DEVICE = "unknown_device"
    REVOKED_DEVICE = "revoked_device"
    EXPIRED_DEVICE = "expired_device"
    DEVICE_MISMATCH = "device_mismatch"
    BAD_SIGNATURE = "bad_signature"
    HASH_MISMATCH = "hash_mismatch"
    BROKEN_CHAIN = "broken_chain"
    REPLAYED_CHAIN = "replayed_chain"
    NOT_SCHEDULED = "not_scheduled"
    FACE_NOT_EXCEPTABLE = "face_not_exceptable"


class Rejected(Exception):
    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.value)
        self.reason = reason
