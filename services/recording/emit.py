"""Events leaving with a batch: written to recording's outbox in one statement, one NOTIFY."""

from dataclasses import dataclass

import asyncpg
from pydantic import BaseModel

from contracts import EventSpec
from ots_runtime.outbox import enqueue_rows, outbox_row

SCHEMA = "recording"
SOURCE = "ots/recording"


@dataclass(frozen=True)
class Outgoing:
    spec: EventSpec
    data: BaseModel
    subject_id: str | None
    device_id: str | None = None


async def enqueue_all(conn: asyncpg.Connection, events: list[Outgoing]) -> None:
    rows = [
        outbox_row(
            item.spec,
            item.data,
            source=SOURCE,
            subject_id=item.subject_id,
            device_id=item.device_id,
        )
        for item in events
    ]
    await enqueue_rows(conn, SCHEMA, rows)
