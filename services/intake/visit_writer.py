"""Group commit for new visits: concurrent requests share one round trip to PostgreSQL.

Requests queue their item; a few writer tasks each take everything queued and call
`intake.accept_visits` once, which lands or refuses every item on its own. The HTTP answer
waits for that commit, so nothing is acknowledged that is not durable.
"""

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg
import orjson

from contracts.enums import VisitStatus
from contracts.events import VisitRequested
from contracts.subjects import VISIT_REQUESTED
from ots_runtime.db import TRANSIENT, in_transaction
from ots_runtime.outbox import outbox_row
from services.intake.domain.request import NewVisit
from services.intake.tokens import Principal
from services.intake.visits import SOURCE, body_hash, new_visit_id, owner_of

log = logging.getLogger(__name__)

Item = dict[str, Any]
Outcome = dict[str, Any]


def visit_item(visit: NewVisit, who: Principal, idempotency_key: str | None) -> Item:
    visit_id = new_visit_id()
    event = VisitRequested.model_construct(visit_id=visit_id, **dict(visit))
    row = outbox_row(VISIT_REQUESTED, event, source=SOURCE, subject_id=visit_id)
    return {
        "visit_id": visit_id,
        "owner": owner_of(visit, who),
        "kecamatan_code": visit.venue.kecamatan_code,
        "venue_type": visit.venue.type.value,
        "priority": visit.priority.value,
        "niks": [r.nik for r in visit.residents],
        "recording": visit.records,
        "override_niks": [r.nik for _, r in visit.overridden],
        "overrides": [
            {"nik": r.nik, "resident": f"residents.{i}"} | r.override.model_dump(mode="json")
            for i, r in visit.overridden
            if r.override is not None
        ],
        "event_id": row.event.id,
        "event_type": row.event.type,
        "event_time": row.event.time.isoformat(),
        "subject": row.subject,
        "event_body": row.body.decode(),
        "scope": f"{who.role}:{who.agency}",
        "idempotency_key": idempotency_key,
        "body_hash": body_hash(visit) if idempotency_key is not None else None,
        "response": {"visit_id": visit_id, "status": VisitStatus.REQUESTED.value},
    }


class VisitWriter:
    def __init__(self, pool: asyncpg.Pool, *, writers: int = 4, max_batch: int = 64) -> None:
        self._pool = pool
        self._writers = writers
        self._max_batch = max_batch
        self._queue: asyncio.Queue[tuple[Item, asyncio.Future[Outcome]]] = asyncio.Queue()

    async def accept(self, item: Item) -> Outcome:
        done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, done))
        return await done

    async def run(self, stop: asyncio.Event) -> None:
        writers = [asyncio.create_task(self._write_forever()) for _ in range(self._writers)]
        try:
            await stop.wait()
        finally:
            for task in writers:
                task.cancel()
            for task in writers:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _write_forever(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._write(batch)

    async def _write(self, batch: list[tuple[Item, asyncio.Future[Outcome]]]) -> None:
        payload = orjson.dumps([item for item, _ in batch]).decode()
        try:
            raw = await in_transaction(
                self._pool,
                lambda conn: conn.fetchval("SELECT intake.accept_visits($1::jsonb)", payload),
                single_statement=True,
            )
            outcomes: list[Outcome] = orjson.loads(raw)
        except Exception as error:
            # A refused item is split out; an outage (already retried) is not its fault.
            if len(batch) > 1 and not isinstance(error, TRANSIENT):
                # The call landed nothing: each item again on its own, so one that PostgreSQL
                # refuses fails its own request and never its neighbours'.
                log.warning("a batch of %d visits failed (%r); writing each alone", len(batch),
                            error)  # fmt: skip
                for one in batch:
                    await self._write([one])
                return
            for _, done in batch:
                if not done.done():
                    done.set_exception(error)
            return
        for (_, done), outcome in zip(batch, outcomes, strict=True):
            if not done.done():
                done.set_result(outcome)
