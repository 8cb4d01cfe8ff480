"""A gateway's inbox of recapture requests, read from the stream one message at a time.

Direct gets by subject keep no consumer on the server, so a restarted nats-server or a
reconnect loses nothing: reading resumes at the next stream sequence.
"""

import asyncio
import contextlib
import json

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from contracts.streams import EVENTS
from contracts.subjects import RECAPTURE_REQUESTED
from ots.simulate.observed import patiently

EVENTS_STREAM = EVENTS.name
RecaptureKey = tuple[str, str, str, str, int]
"""visit id, NIK, modality, position ("" for none), the attempt that fell short."""


class RecaptureInbox:
    def __init__(self, js: JetStreamContext, device_id: str) -> None:
        self.js, self.subject = js, RECAPTURE_REQUESTED.subject(device_id)
        self.received: set[RecaptureKey] = set()
        self.arrived = asyncio.Event()
        self.next_seq = 1
        self.task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """From now on: requests published before this gateway started are not its day's."""
        info = await patiently(lambda: self.js.stream_info(EVENTS_STREAM))
        self.next_seq = info.state.last_seq + 1
        self.task = asyncio.create_task(self._read())

    async def close(self) -> None:
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
                msg = await self.js.get_msg(EVENTS_STREAM, seq=self.next_seq,
                                            subject=self.subject, next=True)  # fmt: skip
            except NotFoundError:
                await asyncio.sleep(0.2)
                continue
            except Exception:  # nats-server away or restarting: try again shortly
                await asyncio.sleep(0.5)
                continue
            self.next_seq = (msg.seq or self.next_seq) + 1
            data = json.loads(msg.data or b"{}").get("data", {})
            self.received.add((data["visit_id"], data["nik"], data["modality"],
                               data.get("position") or "", int(data["attempt"])))  # fmt: skip
            self.arrived.set()
