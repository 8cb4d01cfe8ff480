"""A gateway's recapture requests, read as a tablet reads them: its feedback in the
OTS_FEEDBACK bucket, through the gateway SDK. One value, the newest, holds every request of the
last two days, so a restarted nats-server or a reconnect loses nothing."""

import asyncio
import contextlib
from datetime import UTC, datetime

from nats.js import JetStreamContext

from ots_gateway.cancellation import unless_cancelled
from ots_gateway.views import read_feedback

RecaptureKey = tuple[str, str, str, str, int]
"""visit id, NIK, modality, position ("" for none), the attempt that fell short."""
POLL_SECONDS = 0.2


class RecaptureInbox:
    def __init__(self, js: JetStreamContext, device_id: str) -> None:
        self.js, self.device_id = js, device_id
        self.received: set[RecaptureKey] = set()
        self.arrived = asyncio.Event()
        self.since = datetime.now(UTC)
        self.task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """From now on: requests made before this gateway started are not its day's."""
        self.since = datetime.now(UTC)
        self.task = asyncio.create_task(self._read())

    async def close(self) -> None:
        """The reader stops even if a read lost the cancellation (`unless_cancelled`): a day's
        simulation once waited on it forever."""
        if self.task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def wait_for(self, keys: set[RecaptureKey], patience: float) -> set[RecaptureKey]:
        """The keys still missing after `patience` seconds (none if all arrived)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(patience):
                while keys - self.received:
                    self.arrived.clear()
                    await self.arrived.wait()
        return keys - self.received

    async def _read(self) -> None:
        while True:
            try:
                feedback = await unless_cancelled(read_feedback(self.js, self.device_id))
            except Exception:  # nats-server away or restarting: try again shortly
                feedback = None
            for item in feedback.recaptures if feedback else []:
                r = item.request
                key = (r.visit_id, r.nik, r.modality.value, r.position or "", r.attempt)
                if item.at >= self.since and key not in self.received:
                    self.received.add(key)
                    self.arrived.set()
            await asyncio.sleep(POLL_SECONDS)
