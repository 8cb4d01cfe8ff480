"""The devices' views published to their buckets: each device's worklist (OTS_WORKLIST) and
feedback (OTS_FEEDBACK), under its device id, newest version only.

Whatever changed a view marked it in the same transaction (`device_views.version`); this loop
builds each marked view from the committed state and writes it, then records the version as
published. Every replica may run it: a value is written only over an older version, by a
compare-and-set on the key's last sequence, so a slower replica never puts back an older view.
A view written twice is harmless; one not yet written stays marked through any crash or outage.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

import asyncpg
import nats.errors
import nats.js.errors
from nats.js import JetStreamContext
from pydantic import BaseModel

from contracts.jember import WIB
from contracts.streams import FEEDBACK, WORKLIST, BucketSpec
from services.recording import feedback, worklist

log = logging.getLogger(__name__)
Build = Callable[[asyncpg.Connection, str, int], Awaitable[BaseModel | None]]
VIEWS: dict[str, tuple[BucketSpec, Build]] = {
    worklist.BUCKET: (WORKLIST, worklist.build),
    feedback.BUCKET: (FEEDBACK, feedback.build),
}
WRONG_LAST_SEQUENCE = 10071


async def publish_pending(pool: asyncpg.Pool, js: JetStreamContext, batch: int = 100) -> int:
    """Writes the marked views; returns how many were written."""
    async with pool.acquire() as conn:
        marked = await conn.fetch(
            "SELECT device_id, bucket, version FROM recording.device_views"
            " WHERE version > published ORDER BY bucket, device_id LIMIT $1",
            batch,
        )
        written = 0
        for row in marked:
            spec, build = VIEWS[row["bucket"]]
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                version = await conn.fetchval(
                    "SELECT version FROM recording.device_views WHERE device_id = $1"
                    " AND bucket = $2", row["device_id"], row["bucket"],
                )  # fmt: skip
                view = await build(conn, row["device_id"], version)
            if view is None or await put_newer(js, spec, row["device_id"], view, version):
                written += view is not None
                await conn.execute(
                    "UPDATE recording.device_views SET published = greatest(published, $3)"
                    " WHERE device_id = $1 AND bucket = $2",
                    row["device_id"], row["bucket"], version,
                )  # fmt: skip
    return written


async def put_newer(
    js: JetStreamContext, spec: BucketSpec, key: str, view: BaseModel, version: int
) -> bool:
    """True once the bucket holds `version` or a newer one; False to try again later."""
    subject = spec.subject(key)
    try:
        current = await js.get_msg(spec.stream, subject=subject, direct=True)
        last, held = current.seq or 0, _version(current.data)
    except nats.js.errors.NotFoundError:
        last, held = 0, -1
    if held >= version:
        return True
    try:
        await js.publish(subject, view.model_dump_json().encode(),
                         headers={"Nats-Expected-Last-Subject-Sequence": str(last)})  # fmt: skip
    except nats.js.errors.APIError as error:
        if error.err_code == WRONG_LAST_SEQUENCE:
            return False  # another replica wrote meanwhile: compare again next round
        raise
    return True


def _version(data: bytes | None) -> int:
    try:
        return int(json.loads(data or b"{}").get("version", -1))
    except (ValueError, AttributeError):
        return -1


async def retouch_worklists(pool: asyncpg.Pool) -> None:
    """A new day (WIB): every worklist shows other days now."""
    await pool.execute(
        "UPDATE recording.device_views SET version = version + 1 WHERE bucket = $1",
        worklist.BUCKET,
    )


async def run_publisher(
    pool: asyncpg.Pool, js: JetStreamContext, stop: asyncio.Event, every: float = 0.5
) -> None:
    shown: date | None = None
    while not stop.is_set():
        today = datetime.now(UTC).astimezone(WIB).date()
        try:
            if today != shown:
                await retouch_worklists(pool)
                shown = today
            if await publish_pending(pool, js):
                continue
        except (OSError, asyncpg.PostgresError, nats.errors.Error) as error:
            log.warning("device views not published yet (%s); trying again", error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
