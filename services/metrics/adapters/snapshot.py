"""What one scrape shows, read from the `metrics` schema and from JetStream consumer info."""

import json
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

import asyncpg
from nats.js import JetStreamContext

from contracts.jember import WIB
from contracts.streams import ALL_STREAMS
from services.metrics.domain.batch import SeriesKey

log = logging.getLogger(__name__)
DEFAULT_SHIFT_MINUTES = 7 * 60  # 08:00-15:00, the department's shift
UTILISATION_DAYS_BEFORE, UTILISATION_DAYS_AFTER = 1, 7


@dataclass(frozen=True)
class ConsumerLag:
    stream: str
    consumer: str
    pending: int
    ack_pending: int
    redelivered: int


@dataclass
class Snapshot:
    counters: dict[SeriesKey, float] = field(default_factory=dict)
    open_visits: dict[tuple[str, str], int] = field(default_factory=dict)  # (status, priority)
    utilisation: dict[tuple[str, str], float] = field(default_factory=dict)  # (team, date)
    lags: list[ConsumerLag] = field(default_factory=list)
    stream_messages: dict[str, int] = field(default_factory=dict)


async def _counters(conn: asyncpg.Connection) -> dict[SeriesKey, float]:
    rows = await conn.fetch("SELECT metric, labels, value FROM metrics.counters")
    return {(r["metric"], tuple(json.loads(r["labels"]))): r["value"] for r in rows}


async def _open_visits(conn: asyncpg.Connection) -> dict[tuple[str, str], int]:
    rows = await conn.fetch(
        "SELECT status, coalesce(priority, 'normal') AS priority, count(*) AS n "
        "FROM metrics.visits WHERE status IN ('requested', 'scheduled', 'unassigned') "
        "GROUP BY 1, 2"
    )
    return {(r["status"], r["priority"]): r["n"] for r in rows}


async def _utilisation(conn: asyncpg.Connection, today: date) -> dict[tuple[str, str], float]:
    """Planned minutes over shift minutes, for the days around today only: bounded labels."""
    rows = await conn.fetch(
        "SELECT p.team_id, p.date, p.planned_minutes, "
        f"coalesce(nullif(s.shift_minutes, 0), {DEFAULT_SHIFT_MINUTES}) AS shift_minutes "
        "FROM metrics.route_plans p LEFT JOIN metrics.team_shifts s USING (team_id) "
        "WHERE p.date BETWEEN $1 AND $2",
        today - timedelta(days=UTILISATION_DAYS_BEFORE),
        today + timedelta(days=UTILISATION_DAYS_AFTER),
    )
    return {
        (r["team_id"], r["date"].isoformat()): r["planned_minutes"] / r["shift_minutes"]
        for r in rows
    }


async def _lags(js: JetStreamContext) -> list[ConsumerLag]:
    lags: list[ConsumerLag] = []
    for stream in ALL_STREAMS:
        try:
            infos = await js.consumers_info(stream.name)
        except Exception as error:  # a missing stream shows as no lag rather than no scrape
            log.warning("consumer info of %s unavailable: %s", stream.name, error)
            continue
        lags.extend(
            ConsumerLag(stream.name, info.config.durable_name, info.num_pending or 0,
                        info.num_ack_pending or 0, info.num_redelivered or 0)
            for info in infos
            if info.config.durable_name  # ephemeral consumers have no stable name
        )  # fmt: skip
    return lags


async def _stream_messages(js: JetStreamContext) -> dict[str, int]:
    """Messages held per stream: for OTS_DLQ, the dead letters an operator has yet to clear."""
    held: dict[str, int] = {}
    for stream in ALL_STREAMS:
        try:
            held[stream.name] = (await js.stream_info(stream.name)).state.messages
        except Exception as error:
            log.warning("stream info of %s unavailable: %s", stream.name, error)
    return held


async def read(pool: asyncpg.Pool, js: JetStreamContext | None, today: date) -> Snapshot:
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        snapshot = Snapshot(
            await _counters(conn), await _open_visits(conn), await _utilisation(conn, today)
        )
    if js is not None:
        snapshot.lags = await _lags(js)
        snapshot.stream_messages = await _stream_messages(js)
    return snapshot


def today_in_jember() -> date:
    from datetime import datetime

    return datetime.now(WIB).date()
