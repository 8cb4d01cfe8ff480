"""The tablet's outbox: every message it makes, kept in SQLite until JetStream has stored it.

A message is written together with its person's new chain head, in one transaction, before
anything is sent: a tablet killed at any instant loses nothing it had recorded and never signs
two captures with one sequence. `flush` sends the oldest unsent message first, each under its
CloudEvents id as `Nats-Msg-Id`, and marks it sent only after JetStream's acknowledgement; one
sent again after a crash is stored once by JetStream and applied once by recording.

An `item_key` (the app's own name for what it recorded, e.g. visit, NIK, slot and attempt) makes
recording idempotent for the app too: asked again after a restart, the outbox returns the message
it already holds rather than a new one.
"""

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import nats.errors
import nats.js.errors
from nats.js import JetStreamContext

from contracts.enums import Modality
from contracts.gateway.signing import GENESIS_HASH
from ots_gateway import messages
from ots_gateway.cancellation import stop_if_cancelled
from ots_gateway.keys import DeviceKey
from ots_gateway.messages import GatewayMessage

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    item_key TEXT UNIQUE,
    subject TEXT NOT NULL,
    msg_id TEXT NOT NULL UNIQUE,
    body BLOB NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0,
    refused TEXT
);
CREATE INDEX IF NOT EXISTS messages_unsent ON messages (sent, seq);
CREATE TABLE IF NOT EXISTS chains (
    visit_id TEXT NOT NULL,
    nik TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    chain_hash TEXT NOT NULL,
    PRIMARY KEY (visit_id, nik)
);
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
TRANSIENT = (nats.errors.Error, OSError, TimeoutError, asyncio.TimeoutError)
"""NATS away, reconnecting, or up before its JetStream (no responders): wait and send again.
JetStream's own refusals (`APIError`) are sorted out before, in `_send`."""


@dataclass(frozen=True)
class Backoff:
    first: float = 0.2
    most: float = 5.0

    def after(self, delay: float) -> float:
        return min(self.most, max(self.first, delay * 2))


class Outbox:
    def __init__(self, path: Path, device_id: str, key: DeviceKey) -> None:
        self.device_id, self.key = device_id, key
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a message acknowledged to the app is on disk
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    # -- recording ---------------------------------------------------------------------------

    def capture(
        self, visit_id: str, nik: str, modality: Modality, position: str | None = None, *,
        quality: int, sample: bytes, item_key: str | None = None,
        captured_at: datetime | None = None,
    ) -> GatewayMessage:  # fmt: skip
        """Signs the person's next capture and keeps it with the new chain head, atomically."""

        def build() -> GatewayMessage:
            row = self._db.execute(
                "SELECT sequence, chain_hash FROM chains WHERE visit_id = ? AND nik = ?",
                (visit_id, nik),
            ).fetchone()
            head = (row[0], row[1]) if row else (0, GENESIS_HASH)
            data, (sequence, chain_hash) = messages.capture_data(
                self.device_id, visit_id, nik, modality, position, quality, sample, head,
                captured_at=captured_at,
            )  # fmt: skip
            self._db.execute(
                "INSERT INTO chains VALUES (?, ?, ?, ?) ON CONFLICT (visit_id, nik)"
                " DO UPDATE SET sequence = excluded.sequence, chain_hash = excluded.chain_hash",
                (visit_id, nik, sequence, chain_hash),
            )
            return messages.capture(self.device_id, self.key, data)

        return self._keep(build, item_key)

    def exception(
        self, visit_id: str, nik: str, modality: Modality, position: str | None = None, *,
        kind: str = "permanent", reason: str = "amputated", item_key: str | None = None,
    ) -> GatewayMessage:  # fmt: skip
        return self._keep(
            lambda: messages.exception(
                self.device_id, self.key, visit_id, nik, modality, position, kind=kind,
                reason=reason,
            ),
            item_key,
        )  # fmt: skip

    def service(
        self, visit_id: str, service_type: str, count: int = 1, *, item_key: str | None = None
    ) -> GatewayMessage:
        return self._keep(
            lambda: messages.service(self.device_id, self.key, visit_id, service_type, count),
            item_key,
        )

    def visit_closed(
        self, visit_id: str, absent_niks: list[str] | None = None, *, item_key: str | None = None
    ) -> GatewayMessage:
        return self._keep(
            lambda: messages.visit_closed(self.device_id, self.key, visit_id, absent_niks),
            item_key,
        )

    def recorded(self, item_key: str) -> bool:
        row = self._db.execute("SELECT 1 FROM messages WHERE item_key = ?", (item_key,))
        return row.fetchone() is not None

    def _keep(self, build: Callable[[], GatewayMessage], item_key: str | None) -> GatewayMessage:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if item_key is not None and (held := self._held(item_key)) is not None:
                self._db.execute("COMMIT")
                return held
            message = build()
            self._db.execute(
                "INSERT INTO messages (item_key, subject, msg_id, body) VALUES (?, ?, ?, ?)",
                (item_key, message.subject, message.msg_id, message.body),
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return message

    def _held(self, item_key: str) -> GatewayMessage | None:
        row = self._db.execute(
            "SELECT subject, msg_id, body FROM messages WHERE item_key = ?", (item_key,)
        ).fetchone()
        return None if row is None else GatewayMessage(row[0], bytes(row[2]), row[1], {})

    # -- sending -----------------------------------------------------------------------------

    def unsent(self) -> int:
        row = self._db.execute("SELECT count(*) FROM messages WHERE sent = 0").fetchone()
        return int(row[0])

    def refused(self) -> list[tuple[str, str]]:
        """(message id, JetStream's error) of the messages JetStream would not store."""
        rows = self._db.execute("SELECT msg_id, refused FROM messages WHERE refused IS NOT NULL")
        return [(r[0], r[1]) for r in rows]

    def _unsent(self, after: int, limit: int) -> list[tuple[int, str, str, bytes]]:
        rows = self._db.execute(
            "SELECT seq, subject, msg_id, body FROM messages WHERE sent = 0 AND seq > ?"
            " ORDER BY seq LIMIT ?",
            (after, limit),
        ).fetchall()
        return [(r[0], r[1], r[2], bytes(r[3])) for r in rows]

    def _mark_sent(self, seqs: list[int]) -> None:
        """One transaction for many: a crash before it only sends them again (stored once)."""
        if seqs:
            self._db.executemany("UPDATE messages SET sent = 1 WHERE seq = ?", [(q,) for q in seqs])

    def _mark_refused(self, seq: int, error: str) -> None:
        self._db.execute("UPDATE messages SET sent = 1, refused = ? WHERE seq = ?", (error, seq))

    async def flush(
        self, js: JetStreamContext, *, stop: asyncio.Event | None = None,
        publish_timeout: float = 5.0, backoff: Backoff = Backoff(), pause: float = 0.0,
        batch: int = 32,
    ) -> int:  # fmt: skip
        """Sends every unsent message, oldest first, one acknowledged before the next, until
        none is left (or `stop` is set). While NATS is unreachable it waits and tries again,
        however long that takes; `pause` spaces two sends (a slow link). Sent messages are
        marked `batch` at a time."""
        sent, delay, after = 0, 0.0, 0
        while stop is None or not stop.is_set():
            pending = self._unsent(after, batch)
            if not pending:
                return sent
            acked: list[int] = []
            current = after
            try:
                for seq, subject, msg_id, body in pending:
                    if stop is not None and stop.is_set():
                        break
                    current = seq
                    if await self._send(js, seq, subject, msg_id, body, publish_timeout):
                        acked.append(seq)
                    after = seq
                    stop_if_cancelled()
                    if pause:
                        await asyncio.sleep(pause)
                delay = 0.0
            except TRANSIENT as error:
                stop_if_cancelled()  # "no responders" too may come back with a lost cancel
                log.info("NATS unreachable (%s); the outbox waits", type(error).__name__)
                after = current - 1  # the one that failed goes first again
                delay = await _pause(backoff.after(delay), stop)
            finally:
                self._db.execute("BEGIN IMMEDIATE")
                self._mark_sent(acked)
                self._db.execute("COMMIT")
                sent += len(acked)
        return sent

    async def _send(
        self, js: JetStreamContext, seq: int, subject: str, msg_id: str, body: bytes,
        wait: float,
    ) -> bool:  # fmt: skip
        """True once JetStream has it; False if it refused it for good (kept as refused).
        Raises one of TRANSIENT while NATS or JetStream is away."""
        try:
            await js.publish(subject, body, headers={"Nats-Msg-Id": msg_id}, timeout=wait)
        except nats.js.errors.APIError as error:
            if error.code in (None, 503):  # JetStream itself unavailable
                raise ConnectionError(error.description) from error
            log.error("JetStream refused %s: %s", msg_id, error.description)
            self._mark_refused(seq, f"{error.code} {error.description}")
            return False
        return True

    # -- the app's small state (the readers' positions) ---------------------------------------

    def get_state(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM state WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_state(self, name: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO state VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )


async def _pause(delay: float, stop: asyncio.Event | None) -> float:
    if stop is None:
        await asyncio.sleep(delay)
    else:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
    return delay
