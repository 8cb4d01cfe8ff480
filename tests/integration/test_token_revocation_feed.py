"""The revocation feed fails closed when OTS_EVENTS is missing and reads a recreated stream anew."""

from datetime import UTC, datetime, timedelta

import pytest
from nats.aio.client import Client
from nats.js.errors import NotFoundError

from contracts import envelope
from contracts.events import TokenRevoked
from contracts.streams import EVENTS
from contracts.subjects import TOKEN_REVOKED
from ots_runtime.auth import RevocationFeed, RevokedSet
from ots_runtime.broker import provision
from ots_runtime.settings import Settings

LATER = datetime.now(UTC) + timedelta(days=30)


async def revoke(nc: Client, token_id: str) -> None:
    event = envelope(TokenRevoked(token_id=token_id, expires_at=LATER),
                     type_=TOKEN_REVOKED.type, source="ots/test", subject=token_id)  # fmt: skip
    await nc.jetstream().publish(TOKEN_REVOKED.subject(), event.model_dump_json().encode())


async def test_a_replica_cannot_read_revocations_without_the_stream_and_does_not_pretend_to(
    settings: Settings, nc: Client
) -> None:
    await nc.jetstream().delete_stream(EVENTS.name)
    feed = RevocationFeed(nc.jetstream(), RevokedSet(), poll_seconds=0.1)
    with pytest.raises(NotFoundError):
        await feed.catch_up()


async def test_revocations_in_a_recreated_stream_are_read_from_its_start(
    settings: Settings, nc: Client
) -> None:
    js = nc.jetstream()
    for _ in range(5):
        await js.publish("ots.visit.cancelled", b"{}")  # other events move the sequence on
    await revoke(nc, "tok-before")
    revoked = RevokedSet()
    feed = RevocationFeed(js, revoked, poll_seconds=0.1)
    assert await feed.catch_up() == 1
    await js.delete_stream(EVENTS.name)
    await provision(js, [])
    await revoke(nc, "tok-after")
    await feed.catch_up()  # finds nothing past its old position, and sees the stream is new
    await feed.catch_up()
    assert "tok-before" in revoked and "tok-after" in revoked
