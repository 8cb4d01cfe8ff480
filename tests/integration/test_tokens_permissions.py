"""Under the shipped nats.conf (least-privilege users): only intake publishes a revocation, and
every service reads every revocation with the permissions it already has (no consumer)."""

import pytest

from contracts.subjects import TOKEN_REVOKED
from ots_runtime.auth import RevocationFeed, RevokedSet
from tests.integration.test_nats_permissions import (
    SERVICES,
    Session,
    admin,
    broker,
    connected,
    publish_as,
)

__all__ = ["admin", "broker", "connected"]  # fixtures


async def test_every_service_reads_the_revocations_intake_publishes(
    connected: dict[str, Session],
) -> None:
    await publish_as(connected["intake"], TOKEN_REVOKED)
    for service in SERVICES:
        revoked = RevokedSet()
        read = await RevocationFeed(connected[service].js, revoked, poll_seconds=1).catch_up()
        assert read >= 1 and "tok-7f3a9c2e41d0" in revoked, service
        assert connected[service].errors == [], service


@pytest.mark.parametrize("user", ["dispatch", "recording", "metrics", "A"])
async def test_no_one_but_intake_may_revoke_a_token(
    connected: dict[str, Session], user: str
) -> None:
    await connected[user].refused_publish(TOKEN_REVOKED.pattern)
