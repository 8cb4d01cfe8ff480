"""Events leaving with a batch: written to recording's outbox in one statement, one NOTIFY;
the recapture requests and rejections among them also kept as their devices' feedback."""

from dataclasses import dataclass

import asyncpg
from pydantic import BaseModel

from contracts import EventSpec
from ots_runtime.outbox import enqueue_rows, outbox_row
from services.recording import feedback

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
    # the device's own view of these verdicts, in the same transaction
    await feedback.record(
        conn, [(row, item.device_id) for row, item in zip(rows, events, strict=True)]
    )
