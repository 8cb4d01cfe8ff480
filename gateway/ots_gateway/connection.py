"""Connecting a device to NATS: as its own user, replies under its own inbox, forever retrying."""

import asyncio
import logging
import ssl

import nats
import nats.errors
from nats.aio.client import Client

from ots_gateway.cancellation import stop_if_cancelled

log = logging.getLogger(__name__)


def user_name(device_id: str) -> str:
    """The device's NATS user, as deploy/nats/gateway_users.py writes it."""
    return f"gateway-{device_id}"


def inbox_prefix(user: str | None) -> str:
    """A device may subscribe only to `_INBOX.<its user>.>`: its replies must come there."""
    return f"_INBOX.{user}" if user else "_INBOX"


async def connect(
    servers: str, *, user: str | None = None, password: str | None = None,
    tls: ssl.SSLContext | None = None, first_try_every: float = 1.0,
) -> Client:  # fmt: skip
    """A client that reconnects by itself once connected; until the first connection, tries
    again every `first_try_every` seconds (a tablet may start where there is no coverage).
    Gateways come in over `wss://`; `tls` trusts the listener's authority if it is private."""
    while True:
        try:
            client: Client = await nats.connect(
                [s.strip() for s in servers.split(",")], user=user, password=password,
                inbox_prefix=inbox_prefix(user), max_reconnect_attempts=-1,
                reconnect_time_wait=0.5, connect_timeout=2, allow_reconnect=True, tls=tls,
                error_cb=_quiet, name=user or "ots-gateway",
            )  # fmt: skip
            return client
        except (nats.errors.NoServersError, OSError, TimeoutError) as error:
            stop_if_cancelled()  # the connect's own timeout may have swallowed a cancellation
            log.info("NATS not reachable yet (%s); trying again", type(error).__name__)
            await asyncio.sleep(first_try_every)


async def _quiet(error: Exception) -> None:
    log.debug("NATS: %s", error)
