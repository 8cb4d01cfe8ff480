"""Events leaving with a batch: written to recording's outbox in one statement, one NOTIFY."""

from dataclasses import dataclass

import asyncpg
from pydantic import BaseModel

from contracts import EventSpec, envelope
from ots_runtime.outbox import channel

SCHEMA = "recording"
SOURCE = "ots/recording"


@dataclass(frozen=True)
class Outgoing:
    spec: EventSpec
    data: BaseModel
    subject_id: str | None
    device_id: str | None = None


async def enqueue_all(conn: asyncpg.Connection, events: list[Outgoing]) -> None:
    if not events:
        return
    rows = []
    for item in events:
        event = envelope(item.data, type_=item.spec.type, source=SOURCE, subject=item.subject_id)
        rows.append((event.id, item.spec.subject(item.device_id), event.model_dump_json().encode()))
    await conn.executemany(
        f"INSERT INTO {SCHEMA}.outbox (event_id, subject, body) VALUES ($1, $2, $3)", rows
    )
    await conn.execute(f"NOTIFY {channel(SCHEMA)}")
