"""The OTS_GATEWAY work queue, pulled in batches: one transaction per batch, acks after commit.

Rejections are outcomes, not failures: they are published and acknowledged with the batch.
Only an unexpected error is retried (message by message, to find the culprit) and, after
`max_deliver` attempts, dead-lettered.
"""

import asyncio
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

import asyncpg
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from contracts.gateway.inbound import Inbound, best_effort_ids, read, subject_parts
from contracts.gateway.reasons import Rejected
from contracts.gateway.verify import Bounds
from contracts.subjects import (
    GATEWAY_CAPTURE,
    GATEWAY_EXCEPTION,
    GATEWAY_SERVICE,
    GATEWAY_VISIT_CLOSED,
)
from ots_runtime.broker import ConsumerSpec
from ots_runtime.consumer import (
    STUCK_AFTER,
    claim_inbox,
    hold,
    retry_or_dead_letter,
    until_applied,
)
from ots_runtime.dead_letter import DeadLetterer
from ots_runtime.max_deliveries import cloudevent_id
from services.recording.domain.completeness import Thresholds
from services.recording.domain.sealing import Keyring
from services.recording.gateway.batch import BatchApplier, Unreadable
from services.recording.gateway.signatures import SignatureVerifier
from services.recording.metrics import (
    ACCEPTED,
    SAMPLES_STORED,
    WAITING_FOR_SAMPLES,
    count_rejected,
)
from services.recording.samples.ahead import SealedAhead
from services.recording.samples.store import SampleStore, StoreUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")
SERVICE = "recording"  # also the schema holding the inbox
DECODE_BETWEEN_YIELDS = 8
VERIFY_SLICE = 64

CONSUMER = ConsumerSpec(
    durable="recording-gateway",
    stream="OTS_GATEWAY",
    filter_subjects=tuple(
        s.pattern
        for s in (GATEWAY_CAPTURE, GATEWAY_EXCEPTION, GATEWAY_SERVICE, GATEWAY_VISIT_CLOSED)
    ),
    max_ack_pending=4000,
)


@dataclass(frozen=True)
class GatewayOptions:
    keyring: Keyring
    thresholds: Thresholds
    max_message_bytes: int
    batch_size: int
    close_grace_seconds: float
    verify_workers: int = 1
    wait_seconds: float = 5.0  # the first wait for a late enrolment or schedule; then 2x, 3x
    clock_skew_seconds: float = 300.0  # how far a signed captured_at may run ahead of arrival
    capture_lead_days: int = 0  # how many days before its visit's day a capture may be signed
    samples: SampleStore | None = None  # where sealed samples go (`samples.store`)
    # A batch whose samples were written longer ago than this does not commit but starts
    # again: the sweeper may remove unnamed objects older than twice this.
    commit_samples_within_seconds: float = 1800.0

    @property
    def statement_timeout_ms(self) -> int:
        """The bound on each statement of a batch with samples, its COMMIT included: a commit
        checked in time then takes effect by 3/4 of the sweeper's grace, leaving a quarter for
        the clocks of replicas and store to disagree."""
        return max(1, round(self.commit_samples_within_seconds * 500))


def unreadable_key(stream_seq: int) -> str:
    """The inbox key of a message that cannot be read: its place in the work queue."""
    return f"nats:{stream_seq}"


def stored_inbox_keys(data: bytes, stream_seq: int, subject: str = "") -> list[str]:
    """The keys this consumer's inbox may hold a stored message under, for the max-deliveries
    watcher: the id under its device (`Inbound.inbox_key`), the bare CloudEvents id, or the
    key of a message it could not read."""
    keys = [unreadable_key(stream_seq)]
    event_id = cloudevent_id(data)
    if event_id is not None:
        keys.append(event_id)
        device_id, _ = subject_parts(subject)
        if device_id:
            keys.append(f"{device_id}:{event_id}")
    return keys


def decode(msg: Msg, max_bytes: int) -> Inbound | Unreadable:
    try:
        inbound = read(msg.subject, msg.data, max_bytes)
    except Rejected as rejected:
        device_id, item_id = best_effort_ids(msg.subject, msg.data[:max_bytes])
        key = unreadable_key(msg.metadata.sequence.stream)
        return Unreadable(key, rejected.reason, device_id, item_id)
    inbound.arrived_at = msg.metadata.timestamp
    return inbound


def without_sample(data: bytes) -> bytes:
    """The body as the DLQ may keep it: biometric data never outlives its processing."""
    try:
        body = json.loads(data)
        body["data"].pop("sample", None)
        return json.dumps(body).encode()
    except (ValueError, TypeError, KeyError, AttributeError):
        return b"(unreadable gateway message withheld)"


async def _delete_quietly(samples: SampleStore, keys: list[str]) -> None:
    try:
        await samples.delete_all(keys)
    except Exception as error:
        log.warning("%d unneeded sample object(s) left to the sweeper: %s", len(keys), error)


def inbox_key(item: Inbound | Unreadable) -> str:
    return item.inbox_key if isinstance(item, Inbound) else item.key


class GatewayConsumer:
    """The handler of the work queue's batches, pipelined: batch N+1 is decoded (and N+2
    fetched) while batch N commits and is acked. Batches still apply one after the other,
    each seeing what the previous one wrote."""

    def __init__(
        self, js: JetStreamContext, pool: asyncpg.Pool, options: GatewayOptions,
        spec: ConsumerSpec = CONSUMER, verifier: SignatureVerifier | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:  # fmt: skip
        self._js, self._pool, self._options, self._spec = js, pool, options, spec
        self._dead = DeadLetterer(js, SERVICE)
        self._owns_verifier = verifier is None
        self._verifier = verifier or SignatureVerifier(options.verify_workers)
        self._stop = stop or asyncio.Event()
        self._committing: asyncio.Task[None] | None = None
        self._forgetting: set[asyncio.Task[None]] = set()

    async def handle(self, msgs: list[Msg]) -> None:
        """Until this returns, the subscriber holds `msgs` in progress; from then until they are
        settled, the commit's own heartbeat does."""
        previous, self._committing = self._committing, None  # a failed one is not awaited twice
        items = await self._decode_yielding(msgs)
        ahead = SealedAhead(self._options.samples, self._options.keyring, items)
        if previous is not None:
            await previous
        heartbeat = hold(msgs, self._spec.ack_wait_seconds)
        self._committing = asyncio.create_task(self._commit(msgs, items, ahead, heartbeat))

    async def close(self) -> None:
        """The last batch committed and settled; the signature workers stopped."""
        try:
            if self._committing is not None:
                await self._committing
            if self._forgetting:
                await asyncio.wait(self._forgetting, timeout=5)
        finally:
            if self._owns_verifier:
                self._verifier.close()

    async def _decode_yielding(self, msgs: list[Msg]) -> list[Inbound | Unreadable]:
        """Decoding is CPU work: it yields often, so that each round trip of the batch committing
        meanwhile waits little; each slice's signatures verify elsewhere while the next decodes."""
        items: list[Inbound | Unreadable] = []
        verifying: list[Awaitable[None]] = []
        for start in range(0, len(msgs), VERIFY_SLICE):
            sliced: list[Inbound | Unreadable] = []
            for index, msg in enumerate(msgs[start : start + VERIFY_SLICE], 1):
                sliced.append(decode(msg, self._options.max_message_bytes))
                if index % DECODE_BETWEEN_YIELDS == 0:
                    await asyncio.sleep(0)
            verifying.append(asyncio.ensure_future(self._verifier.precheck(sliced)))
            items += sliced
        await asyncio.gather(*verifying)
        return items

    async def _commit(
        self, msgs: list[Msg], items: list[Inbound | Unreadable], ahead: SealedAhead,
        heartbeat: asyncio.Task[None],
    ) -> None:  # fmt: skip
        try:
            await self._process(msgs, items, ahead)
        finally:
            heartbeat.cancel()

    async def _process(
        self, msgs: list[Msg], items: list[Inbound | Unreadable], ahead: SealedAhead
    ) -> None:
        may_wait = frozenset(
            inbox_key(item)
            for msg, item in zip(msgs, items, strict=True)
            if isinstance(item, Inbound)
            and (msg.metadata.num_delivered or 1) < self._spec.max_deliver - 1
        )
        may_be_named: set[str] = set()  # shared by every attempt at this batch: see `_apply`
        try:
            deferred = await self._until_applied(
                lambda: self._apply(items, ahead, may_be_named, may_wait)
            )
        except Exception:
            log.exception("gateway batch failed; applying its messages one by one")
            await self._one_by_one(msgs, items, ahead, may_be_named)
            return
        if deferred is None:
            return  # stopping: redelivered after ack_wait
        for msg, item in zip(msgs, items, strict=True):
            # each ack only appends to the client's write buffer: no task needed
            if inbox_key(item) in deferred:
                await msg.nak(delay=self._options.wait_seconds * (msg.metadata.num_delivered or 1))
            else:
                await msg.ack()

    async def _apply(
        self, items: list[Inbound | Unreadable], ahead: SealedAhead, may_be_named: set[str],
        may_wait: frozenset[str] = frozenset(),
    ) -> set[str]:  # fmt: skip
        """`may_be_named` gathers the objects that the rows of an attempt at these items name,
        for every attempt that reached its COMMIT: one whose client lost the connection there
        may have committed all the same, and its retry then finds the items already claimed
        (not applied again, nothing kept). Their objects are never forgotten by a later
        attempt; only the sweeper, which reads the committed rows, removes one unnamed."""
        started = await ahead.written()  # outside the transaction: its locks wait for no store
        async with self._pool.acquire() as conn, conn.transaction():
            if self._options.samples is not None and ahead.by_item:
                await conn.execute(
                    f"SET LOCAL statement_timeout = {self._options.statement_timeout_ms}"
                )
            fresh = await claim_inbox(conn, SERVICE, self._spec.durable, map(inbox_key, items))
            todo: list[Inbound | Unreadable] = []
            for item in items:  # a key repeated within the batch is applied once
                if (key := inbox_key(item)) in fresh:
                    fresh.discard(key)
                    todo.append(item)
            applier = BatchApplier(
                conn, self._options.keyring, self._options.thresholds,
                self._options.close_grace_seconds, may_wait,
                Bounds(
                    timedelta(seconds=self._options.clock_skew_seconds),
                    timedelta(days=self._options.capture_lead_days),
                ),
                samples=self._options.samples, ahead=ahead.by_item,
            )  # fmt: skip
            writes = await applier.apply(todo)
            await self._unclaim(conn, writes.deferred)
            self._verifier.remember(applier.devices)
            if (
                asyncio.get_running_loop().time() - started
                > self._options.commit_samples_within_seconds
            ):
                ahead.rewrite()
                raise StoreUnavailable(
                    "the batch took too long to commit after writing its samples"
                )
            may_be_named |= writes.kept
        self._forget([*writes.unnamed, *sorted(ahead.keys_of(items) - may_be_named)])
        SAMPLES_STORED.inc(len(writes.captures))
        count_rejected(writes.rejections)
        ACCEPTED.labels("batch").inc(len(todo) - applier.refused_items - len(writes.deferred))
        return set(writes.deferred)

    async def _unclaim(self, conn: asyncpg.Connection, keys: list[str]) -> None:
        """A waiting message comes back: its inbox claim must not make it look like a repeat."""
        if keys:
            await conn.execute(
                f"DELETE FROM {SERVICE}.inbox WHERE consumer = $1 AND event_id = ANY($2::text[])",
                self._spec.durable,
                keys,
            )

    def _forget(self, keys: list[str]) -> None:
        """Objects no committed row names any more, removed after the commit (the sweeper
        removes them later if this fails)."""
        if not keys or self._options.samples is None:
            return
        task = asyncio.create_task(_delete_quietly(self._options.samples, keys))
        self._forgetting.add(task)
        task.add_done_callback(self._forgetting.discard)

    async def _until_applied(self, apply: Callable[[], Awaitable[T]]) -> T | None:
        """Through an outage of the database or of the object store the batch waits, held in
        progress, spending no attempt. If the store answers and the batch still fails to reach
        it `STUCK_AFTER` times in a row, the error is no longer taken for an outage."""
        label = (SERVICE, self._spec.durable)
        streak = 0
        while True:
            try:
                return await until_applied(apply, self._pool, self._stop, label)
            except StoreUnavailable as error:
                samples = self._options.samples
                streak += 1
                if samples is None or (streak >= STUCK_AFTER and await samples.reachable()):
                    raise
                if streak == 1:
                    log.warning("%s/%s holds its batch until the sample store answers: %s",
                                *label, error)  # fmt: skip
            WAITING_FOR_SAMPLES.set(1)
            try:
                if not await samples.wait_until_reachable(self._stop):
                    return None
            finally:
                WAITING_FOR_SAMPLES.set(0)
            await asyncio.sleep(min(0.05 * streak, 1.0))

    async def _one_by_one(
        self, msgs: list[Msg], items: list[Inbound | Unreadable], ahead: SealedAhead,
        may_be_named: set[str],
    ) -> None:  # fmt: skip
        for msg, item in zip(msgs, items, strict=True):
            try:
                # one by one, nothing waits: a culprit is being sought
                apply = functools.partial(self._apply, [item], ahead, may_be_named)
                if await self._until_applied(apply) is None:
                    return
                await msg.ack()
            except Exception as error:
                await retry_or_dead_letter(
                    msg, self._dead, self._spec.max_deliver, type(error).__name__,
                    redact=without_sample,
                )  # fmt: skip
