"""Read what services published, straight from JetStream."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.client import Client
from nats.js.api import ConsumerConfig, DeliverPolicy


async def published(
    nc: Client, subject: str, *, expect: int, within: float = 10.0
) -> list[dict[str, Any]]:
    """Every message on `subject` once at least `expect` have arrived, with `_msg_id` added."""
    js = nc.jetstream()
    sub = await js.pull_subscribe(subject, config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL))
    seen: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + within
    try:
        while asyncio.get_running_loop().time() < deadline:
            try:
                msgs = await sub.fetch(100, timeout=0.3)
            except Exception:  # a timeout, or NATS restarting under the test
                msgs = []
            for m in msgs:
                body = json.loads(m.data)
                body["_msg_id"] = (m.headers or {}).get("Nats-Msg-Id")
                body["_subject"] = m.subject
                seen.append(body)
                await m.ack()
            if len(seen) >= expect and not msgs:
                break
    finally:
        await sub.unsubscribe()
    return seen


def url_of(nc: Client) -> str:
    """The server `nc` is connected to, for a broker of a test's own beside it."""
    assert nc.connected_url is not None
    url: str = nc.connected_url.geturl()
    return url


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    """Until `check` holds; fails the test if it has not after `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)
