"""Intake rides out a PostgreSQL restart and a NATS restart without losing a request."""

import httpx
from nats.aio.client import Client

from ots_runtime.embedded import EmbeddedNats, EmbeddedPostgres
from tests.integration.intake_fixtures import Tokens, bearer, intake, tokens
from tests.support.events import published
from tests.support.requests import a_home_visit

__all__ = ["intake", "tokens"]


async def test_requests_after_a_postgres_restart_succeed_on_the_first_try(
    intake: httpx.AsyncClient, tokens: Tokens, postgres_server: EmbeddedPostgres
) -> None:
    before = await intake.post("/v1/visits", json=a_home_visit(), headers=bearer(tokens.operator))
    postgres_server.stop()
    postgres_server.start(fsync=False)
    after = await intake.post("/v1/visits", json=a_home_visit(), headers=bearer(tokens.operator))
    listed = await intake.get("/v1/visits", headers=bearer(tokens.viewer))
    assert (before.status_code, after.status_code, listed.status_code) == (201, 201, 200)


async def test_a_visit_accepted_while_nats_is_down_is_published_when_it_returns(
    intake: httpx.AsyncClient, tokens: Tokens, nats_server: EmbeddedNats, nc: Client
) -> None:
    nats_server.stop()
    created = await intake.post("/v1/visits", json=a_home_visit(), headers=bearer(tokens.operator))
    assert created.status_code == 201
    nats_server.start()
    [event] = await published(nc, "ots.visit.requested", expect=1, within=20)
    assert event["data"]["visit_id"] == created.json()["visit_id"]


async def test_while_postgres_is_down_a_request_gets_503_problem_and_retry_after(
    intake: httpx.AsyncClient, tokens: Tokens, postgres_server: EmbeddedPostgres
) -> None:
    await intake.get("/v1/visits", headers=bearer(tokens.operator))  # the token is now known
    postgres_server.stop()
    try:
        down = await intake.post("/v1/visits", json=a_home_visit(), headers=bearer(tokens.operator))
    finally:
        postgres_server.start(fsync=False)
    assert down.status_code == 503
    assert down.headers["content-type"] == "application/problem+json"
    assert down.headers["retry-after"] == "5"
    back = await intake.post("/v1/visits", json=a_home_visit(), headers=bearer(tokens.operator))
    assert back.status_code == 201
