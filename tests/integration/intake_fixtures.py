"""An intake service on real NATS and PostgreSQL, with a token per role."""

from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from ots_runtime.auth import token_keys
from ots_runtime.settings import Settings
from services.intake.app import create_app
from services.intake.tokens import Role, create_token
from tests.support.http_service import serving
from tests.support.intake import intake_config


@dataclass
class Tokens:
    operator: str
    agency: str
    other_agency: str
    viewer: str


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def tokens(settings: Settings, db: asyncpg.Pool) -> Tokens:
    async with db.acquire() as conn:

        async def make(role: Role, agency: str) -> str:
            issued = await create_token(
                conn, token_keys(settings), role=role, agency=agency, ttl_days=1
            )
            return issued.token

        return Tokens(
            operator=await make(Role.OPERATOR, "dispendukcapil"),
            agency=await make(Role.AGENCY, "Dinas Sosial Jember"),
            other_agency=await make(Role.AGENCY, "Kecamatan Kencong"),
            viewer=await make(Role.VIEWER, "dispendukcapil"),
        )


@pytest.fixture
async def intake(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(create_app(settings, intake_config())) as client:
        yield client
