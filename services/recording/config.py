"""Recording's own settings (`OTS_` prefix), on top of the shared ones."""

import base64
import binascii
import hashlib
from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from services.recording.domain.completeness import Thresholds
from services.recording.domain.sealing import Keyring
from services.recording.samples.settings import SamplesSettings

# Development only: derived from a public string, so anyone can read what it sealed.
DEVELOPMENT_KEY = hashlib.sha256(b"ots-development-biometric-key").digest()
DEVELOPMENT_KEYS = f"dev:{base64.b64encode(DEVELOPMENT_KEY).decode()}"


class RecordingSettings(SamplesSettings):
    """With where sealed samples go (`SamplesSettings`)."""

    model_config = SettingsConfigDict(env_prefix="OTS_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "production"
    biometric_keys: str = Field(default=DEVELOPMENT_KEYS, repr=False)
    biometric_active_key: str = "dev"
    threshold_finger: int = Field(default=40, ge=0, le=100)
    threshold_iris: int = Field(default=60, ge=0, le=100)
    threshold_face: int = Field(default=50, ge=0, le=100)
    threshold_signature: int = Field(default=30, ge=0, le=100)
    gateway_max_message_bytes: int = Field(default=256 * 1024, ge=1024)
    gateway_batch_size: int = Field(default=256, ge=1, le=1000)
    gateway_verify_workers: int = Field(default=1, ge=0, le=8)
    # A message from a device or for a visit not yet known waits this long, then twice, three
    # times as long, before it is refused: its enrolment or schedule may be late on OTS_EVENTS.
    gateway_wait_seconds: float = Field(default=5.0, ge=0)
    # A capture is judged at its signed captured_at, which may run ahead of its arrival on
    # OTS_GATEWAY by at most this much (the tablet's clock drift): OTS_GATEWAY_CLOCK_SKEW_SECONDS.
    gateway_clock_skew_seconds: float = Field(default=300.0, ge=0)
    # How many days before its visit's day (WIB) a capture may be signed:
    # OTS_GATEWAY_CAPTURE_LEAD_DAYS. Unset: 0 in production; elsewhere 14, because the simulator
    # (`ots demo`, the e2e day) records a day that dispatch planned ahead, today.
    gateway_capture_lead_days: int | None = Field(default=None, ge=0, le=366)
    close_grace_seconds: float = Field(default=6 * 3600, ge=0)
    close_check_seconds: float = Field(default=5.0, gt=0)
    # A visit its tablet never closes is closed this long after the end of its day (WIB), with
    # the residents not recorded listed absent: OTS_RECORDING_CLOSE_AFTER_DAY_HOURS.
    recording_close_after_day_hours: float = Field(default=6.0, ge=0)

    @model_validator(mode="after")
    def _refuse_development_key_in_production(self) -> Self:
        keys = parse_keys(self.biometric_keys)
        if self.env != "development" and DEVELOPMENT_KEY in keys.values():
            raise ValueError(
                f"OTS_BIOMETRIC_KEYS must be set and must not hold the development key (OTS_ENV "
                f"is {self.env}; the development key is for OTS_ENV=development only)"
            )
        Keyring(keys, self.biometric_active_key)
        return self

    def capture_lead_days(self) -> int:
        if self.gateway_capture_lead_days is not None:
            return self.gateway_capture_lead_days
        return 0 if self.env == "production" else 14

    def keyring(self) -> Keyring:
        return Keyring(parse_keys(self.biometric_keys), self.biometric_active_key)

    def thresholds(self) -> Thresholds:
        return Thresholds(
            self.threshold_finger, self.threshold_iris, self.threshold_face,
            self.threshold_signature,
        )  # fmt: skip


def parse_keys(spec: str) -> dict[str, bytes]:
    """`k1:<base64 32 bytes>,k2:<…>` → {key id: key}; the values are never echoed in errors."""
    keys: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key_id, _, encoded = item.partition(":")
        try:
            keys[key_id] = base64.b64decode(encoded, validate=True)
        except (ValueError, binascii.Error):
            raise ValueError(f"OTS_BIOMETRIC_KEYS: key {key_id!r} is not base64") from None
    return keys
