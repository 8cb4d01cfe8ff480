"""The dead-letter path: `ots.dlq.<service>` with the original, the error and the attempts."""

import base64
import logging
from datetime import UTC, datetime
from typing import Literal

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from contracts import envelope
from contracts.events import DeadLetter
from contracts.subjects import DEAD_LETTER
from ots_runtime.telemetry import DEAD_LETTERED, subject_label

log = logging.getLogger(__name__)


def _original(data: bytes) -> tuple[str, Literal["utf-8", "base64"]]:
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode(), "base64"


class DeadLetterer:
    def __init__(self, js: JetStreamContext, service: str) -> None:
        self._js = js
        self._service = service

    async def send(self, msg: Msg, error: str, attempts: int, *, data: bytes | None = None) -> None:
        """Dead-letter `msg`, keeping `data` as its original body if given (a redacted copy),
        else the message's own data; subject, headers and ids always come from `msg`."""
        original, encoding = _original(msg.data if data is None else data)
        letter = DeadLetter(
            subject=msg.subject,
            original=original,
            original_encoding=encoding,
            headers={k: v for k, v in (msg.headers or {}).items() if isinstance(v, str)},
            error=error[:2000],
            attempts=attempts,
            service=self._service,
            failed_at=datetime.now(UTC),
        )
        stream_seq = msg.metadata.sequence.stream
        # One letter per original message, even if this send is itself retried.
        event_id = f"dlq.{self._service}.{msg.metadata.stream}.{stream_seq}"
        event = envelope(
            letter, type_=DEAD_LETTER.type, source=f"ots/{self._service}",
            subject=msg.subject, event_id=event_id,
        )  # fmt: skip
        await self._js.publish(
            DEAD_LETTER.subject(self._service),
            event.model_dump_json().encode(),
            headers={"Nats-Msg-Id": event_id},
        )
        DEAD_LETTERED.labels(self._service, subject_label(msg.subject)).inc()
        log.warning(
            "dead-lettered %s after %d attempts: %s", subject_label(msg.subject), attempts, error
        )
