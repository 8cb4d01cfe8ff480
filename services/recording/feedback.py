"""Each device's feedback: the recapture requests and rejections of its messages, kept with the
very transaction that decided them, and published to the OTS_FEEDBACK bucket by `views.py`."""

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import asyncpg

from contracts.events import (
    Feedback,
    FeedbackRecapture,
    FeedbackRejection,
    RecaptureRequested,
    RecordingRejected,
)
from ots_runtime.outbox import OutboxRow
from services.recording.worklist import touch

BUCKET = "feedback"
KEPT = timedelta(days=2)
MOST = 1000  # of each kind, the newest


def device_of(row: OutboxRow, device_id: str | None) -> tuple[str, str] | None:
    """(device, kind) when the event is feedback for a device."""
    data = row.event.data
    if isinstance(data, RecaptureRequested) and device_id:
        return device_id, "recapture"
    if isinstance(data, RecordingRejected) and data.device_id:
        return data.device_id, "rejection"
    return None


async def record(conn: asyncpg.Connection, rows: Sequence[tuple[OutboxRow, str | None]]) -> None:
    """Keeps the feedback among events being enqueued, (row, the device it is sent to)."""
    kept = [
        (found[0], row.event.id, found[1], row.event.time,
         row.event.data.model_dump_json())
        for row, device_id in rows
        if (found := device_of(row, device_id)) is not None
    ]  # fmt: skip
    if not kept:
        return
    stored = await conn.fetch(
        "INSERT INTO recording.feedback (device_id, event_id, kind, at, body)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])"
        " AS x(device_id, event_id, kind, at, body)"
        " WHERE EXISTS (SELECT 1 FROM recording.devices d WHERE d.device_id = x.device_id)"
        " ON CONFLICT DO NOTHING RETURNING device_id",
        *(list(column) for column in zip(*kept, strict=True)),
    )  # only enrolled devices: a subject naming no device gets no view
    await touch(conn, BUCKET, (r["device_id"] for r in stored))


async def build(
    conn: asyncpg.Connection, device_id: str, version: int, now: datetime | None = None
) -> Feedback:
    now = now or datetime.now(UTC)
    rows = await conn.fetch(
        "SELECT event_id, kind, at, body FROM recording.feedback"
        " WHERE device_id = $1 AND at >= $2 ORDER BY at, event_id",
        device_id, now - KEPT,
    )  # fmt: skip
    recaptures = [
        FeedbackRecapture(event_id=r["event_id"], at=r["at"],
                          request=RecaptureRequested.model_validate_json(r["body"]))
        for r in rows if r["kind"] == "recapture"
    ]  # fmt: skip
    rejections = [
        FeedbackRejection(event_id=r["event_id"], at=r["at"], **_rejected(r["body"]))
        for r in rows if r["kind"] == "rejection"
    ]  # fmt: skip
    return Feedback(device_id=device_id, version=version, updated_at=now,
                    recaptures=recaptures[-MOST:], rejections=rejections[-MOST:])  # fmt: skip


def _rejected(body: str) -> dict[str, str]:
    data = json.loads(body)
    return {"capture_id": data["capture_id"], "reason": data["reason"]}
