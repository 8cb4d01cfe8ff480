"""Intake's own settings in tests: its console session key (OTS_TOKEN_PEPPER), made afresh by
every test process and given to intake alone."""

import secrets

from services.intake.config import IntakeSettings

PEPPER = secrets.token_hex(16)
ENV = {"OTS_TOKEN_PEPPER": PEPPER}


def intake_config() -> IntakeSettings:
    return IntakeSettings(env="test", token_pepper=PEPPER)
