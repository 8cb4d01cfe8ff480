"""Intake's own settings (`OTS_` prefix), on top of the shared ones: no other service needs them."""

from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER = "change-me"
"""The session key of `OTS_ENV=development` (`ots run`) only."""


class IntakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OTS_", env_file=".env", extra="ignore")

    # Fail closed like the shared settings; intake's app passes the shared settings' env.
    env: Literal["development", "test", "production"] = "production"
    # The console's session key (OTS_TOKEN_PEPPER): seals the sign-in cookie and derives the
    # CSRF tokens, so every replica of intake must share it.
    token_pepper: str = Field(default=PLACEHOLDER, min_length=8, repr=False)

    @model_validator(mode="after")
    def _refuse_the_placeholder_outside_development(self) -> Self:
        if self.env != "development" and self.token_pepper == PLACEHOLDER:
            raise ValueError(
                f"OTS_TOKEN_PEPPER must be set to a real secret (OTS_ENV is {self.env}; the "
                "placeholder is for OTS_ENV=development only, which `ots run` sets)"
            )
        return self
