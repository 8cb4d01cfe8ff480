"""Messages that reached `max_deliver` unsettled are settled after all.

JetStream stops delivering such a message but keeps it (a work queue included) and publishes
a max-deliveries advisory. The consumers dead-letter a failing message themselves on its last
attempt, so a message gets here only when its last delivery was never settled: the process
died, or its ack was lost with the connection. `OTS_ADVISORIES` keeps the advisories, so one
raised while every replica was down still arrives. For each, the stored message is looked up:
if the consumer's inbox has it, it was applied and only its settlement was lost; otherwise it
is dead-lettered with the reason. From a work queue it is then deleted, so nothing waits
there forever.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import asyncpg
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from contracts.streams import ADVISORIES, MAX_DELIVERIES_ADVISORY, Retention, stream_named
from ots_runtime.broker import ConsumerSpec
from ots_runtime.consumer import until_applied
from ots_runtime.dead_letter import DeadLetterer
from ots_runtime.telemetry import MAX_DELIVERIES

log = logging.getLogger(__name__)

Redact = Callable[[bytes], bytes]
# The keys a consumer's inbox may hold a stored message under: (body, stream sequence, subject).
InboxKeys = Callable[[bytes, int, str], list[str]]


def watcher_spec(service: str, watched: list[ConsumerSpec]) -> ConsumerSpec:
    """The durable on `OTS_ADVISORIES` that hears about `watched`, provisioned by `ots streams`."""
    return ConsumerSpec(
        durable=f"{service}-max-deliveries",
        stream=ADVISORIES.name,
        filter_subjects=tuple(f"{MAX_DELIVERIES_ADVISORY}.{c.stream}.{c.durable}" for c in watched),
        max_deliver=20,
    )


@dataclass(frozen=True)
class Advisory:
    stream: str
    consumer: str
    stream_seq: int
    deliveries: int

    @classmethod
    def read(cls, data: bytes) -> "Advisory":
        body = json.loads(data)
        return cls(body["stream"], body["consumer"], int(body["stream_seq"]), body["deliveries"])


def cloudevent_id(data: bytes) -> str | None:
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        event_id = json.loads(data).get("id")
        if isinstance(event_id, str):
            return event_id
    return None


def by_cloudevent_id(data: bytes, stream_seq: int, subject: str) -> list[str]:
    """The inbox key of `EventConsumer`: the CloudEvents id."""
    event_id = cloudevent_id(data)
    return [event_id] if event_id is not None else []


class MaxDeliveriesWatcher:
    """The handler of the service's `<service>-max-deliveries` durable."""

    def __init__(
        self, *, service: str, js: JetStreamContext, pool: asyncpg.Pool,
        watched: list[ConsumerSpec], redact: Mapping[str, Redact] | None = None,
        inbox_keys: Mapping[str, InboxKeys] | None = None, stop: asyncio.Event | None = None,
    ) -> None:  # fmt: skip
        """`redact` and `inbox_keys` per durable, for consumers that dead-letter a redacted body
        or keep their inbox by keys of their own (default: the body whole, the CloudEvents id)."""
        self._service, self._js, self._pool = service, js, pool
        self.spec = watcher_spec(service, watched)
        self._redact = dict(redact or {})
        self._inbox_keys = dict(inbox_keys or {})
        self._dead = DeadLetterer(js, service)
        self._stop = stop or asyncio.Event()

    async def handle(self, msgs: list[Msg]) -> None:
        for msg in msgs:
            await self._settle(msg)

    async def close(self) -> None:
        """Nothing outlives a batch here."""

    async def _settle(self, msg: Msg) -> None:
        advisory = Advisory.read(msg.data)
        try:
            stored = await self._js.get_msg(advisory.stream, advisory.stream_seq)
        except NotFoundError:
            await msg.ack()  # settled meanwhile, or aged out of its stream
            return
        data = stored.data or b""
        keys_of = self._inbox_keys.get(advisory.consumer, by_cloudevent_id)
        keys = keys_of(data, advisory.stream_seq, stored.subject or "")
        applied = await until_applied(
            lambda: self._in_inbox(advisory.consumer, keys), self._pool, self._stop,
            (self._service, self.spec.durable),
        )  # fmt: skip
        if applied is None:
            return  # stopping
        if applied:
            outcome = "already_applied"
        else:
            outcome = "dead_lettered"
            redact = self._redact.get(advisory.consumer)
            await self._dead.send_stored(
                subject=stored.subject or "", data=redact(data) if redact else data,
                headers=stored.headers,
                stream=advisory.stream, stream_seq=advisory.stream_seq,
                error=f"reached max_deliver ({advisory.deliveries}) on {advisory.consumer}"
                " without being settled", attempts=advisory.deliveries,
            )  # fmt: skip
        if stream_named(advisory.stream).retention is Retention.WORK_QUEUE:
            with contextlib.suppress(NotFoundError):
                await self._js.delete_msg(advisory.stream, advisory.stream_seq)
        MAX_DELIVERIES.labels(self._service, advisory.consumer, outcome).inc()
        log.warning("%s seq %d reached max_deliver on %s: %s", advisory.stream,
                    advisory.stream_seq, advisory.consumer, outcome)  # fmt: skip
        await msg.ack()

    async def _in_inbox(self, consumer: str, keys: list[str]) -> bool:
        async with self._pool.acquire() as conn:
            return bool(
                await conn.fetchval(
                    f"SELECT EXISTS (SELECT 1 FROM {self._service}.inbox "
                    "WHERE consumer = $1 AND event_id = ANY($2::text[]))",
                    consumer,
                    keys,
                )
            )
