"""The dead-letter path: `ots.dlq.<service>` with the original, the error and the attempts.

Everything is redacted before it is stored, for the 90 days a letter is kept: NIKs to their last
four digits, names out (those of the original wherever they appear in the error too), database
error details masked. An original with no personal data in it is kept byte for byte, so that
`ots dlq replay` can publish it again; one that had some can only be sent again by its producer.
"""

import base64
import contextlib
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from contracts import envelope
from contracts.events import DeadLetter
from contracts.subjects import DEAD_LETTER
from ots_runtime.redaction import names_in, redact_original, redact_text
from ots_runtime.telemetry import DEAD_LETTERED, subject_label

log = logging.getLogger(__name__)
MAX_ERROR_CHARS = 2000


def _original(data: bytes) -> tuple[str, Literal["utf-8", "base64"]]:
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode(), "base64"


def _names_of(data: bytes) -> set[str]:
    with contextlib.suppress(ValueError, RecursionError):
        return names_in(json.loads(data))
    return set()


def letter_id(service: str, stream: str, stream_seq: int) -> str:
    """One letter per original message, even if the send is itself retried."""
    return f"dlq.{service}.{stream}.{stream_seq}"


class DeadLetterer:
    def __init__(self, js: JetStreamContext, service: str) -> None:
        self._js = js
        self._service = service

    async def send(self, msg: Msg, error: str, attempts: int, *, data: bytes | None = None) -> None:
        """Dead-letter `msg`, keeping `data` as its original body if given (a redacted copy),
        else the message's own data; subject, headers and ids always come from `msg`."""
        await self.send_stored(
            subject=msg.subject,
            data=msg.data if data is None else data,
            headers=msg.headers,
            stream=msg.metadata.stream,
            stream_seq=msg.metadata.sequence.stream,
            error=error,
            attempts=attempts,
        )

    async def send_stored(
        self,
        *,
        subject: str,
        data: bytes,
        headers: Mapping[str, object] | None,
        stream: str,
        stream_seq: int,
        error: str,
        attempts: int,
    ) -> None:
        """Dead-letter a message known by its stored copy (`js.get_msg`): `stream_seq` in
        `stream`, originally published to `subject` with `headers`."""
        names = _names_of(data)
        original, encoding = _original(redact_original(data))
        error = redact_text(error, names)[:MAX_ERROR_CHARS]
        kept = {k: redact_text(v, names) for k, v in (headers or {}).items() if isinstance(v, str)}
        letter = DeadLetter(
            subject=subject,
            original=original,
            original_encoding=encoding,
            headers=kept,
            error=error,
            attempts=max(attempts, 1),
            service=self._service,
            failed_at=datetime.now(UTC),
        )
        event_id = letter_id(self._service, stream, stream_seq)
        event = envelope(
            letter, type_=DEAD_LETTER.type, source=f"ots/{self._service}",
            subject=subject, event_id=event_id,
        )  # fmt: skip
        await self._js.publish(
            DEAD_LETTER.subject(self._service),
            event.model_dump_json().encode(),
            headers={"Nats-Msg-Id": event_id},
        )
        DEAD_LETTERED.labels(self._service, subject_label(subject)).inc()
        log.warning(
            "dead-lettered %s after %d attempts: %s", subject_label(subject), attempts, error
        )
