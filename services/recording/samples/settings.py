"""Where sealed samples go (`OTS_` prefix): on its own, so that `ots recording purge` needs no
more than this."""

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.recording.samples.store import Location


class SamplesSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OTS_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "production"
    # OTS_SAMPLES_URL `s3://bucket[/prefix]` (production: required) or `file:///folder`; unset
    # outside production, a folder under OTS_DATA_DIR (`.ots/samples`, where `ots run` keeps
    # its data).
    data_dir: str = ".ots"
    samples_url: str | None = None
    samples_endpoint: str | None = None  # an S3-compatible server's URL (SeaweedFS, MinIO)
    samples_access_key_id: str | None = Field(default=None, repr=False)
    samples_secret_access_key: str | None = Field(default=None, repr=False)
    samples_region: str = "us-east-1"
    # An object no capture row names is removed once this old: longer than any transaction
    # that writes samples may take to commit (it gives up after half of it).
    samples_sweep_grace_seconds: float = Field(default=3600.0, gt=0)
    samples_sweep_every_seconds: float = Field(default=600.0, gt=0)

    def samples_location(self) -> Location:
        if self.samples_url:
            return Location(
                self.samples_url, self.samples_endpoint, self.samples_access_key_id,
                self.samples_secret_access_key, self.samples_region,
            )  # fmt: skip
        if self.env == "production":
            raise ValueError(
                "OTS_SAMPLES_URL must be set in production (s3://bucket, with"
                " OTS_SAMPLES_ENDPOINT and OTS_SAMPLES_ACCESS_KEY_ID/_SECRET_ACCESS_KEY):"
                " biometric samples are not kept on the container's disk"
            )
        return Location(f"file://{(Path(self.data_dir) / 'samples').resolve()}")
