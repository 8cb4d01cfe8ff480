"""The dead-letter path: `ots.dlq.<service>` with the original, the error and the attempts.

Everything is redacted before it is stored, for the 90 days a letter is kept: NIKs to their last
four digits, names out (those of the original wherever they appear in the error too), database
error details masked. An original with no personal data in it is kept byte for byte, so that
`ots dlq replay` can publish it again. One that had some is also kept sealed to the
administrators' public key (`OTS_DLQ_PUBLIC_KEY`), body and headers as they were, in the
letter's CloudEvents extension attribute `otssealedoriginal`: services can seal but never open
it, and only `ots dlq replay`/`show --original` with the private key do. Without that key (or
for an original over `MAX_SEALED_BYTES`) the letter is kept masked only, and its producer must
send it again. A letter whose body or headers masking changed says so in `otsmasked` (`true`):
a dropped name leaves no other mark, and its copy must never be replayed as the original.
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
from ots_runtime.redaction import addresses_in, names_in, redact_original, redact_text
from ots_runtime.sealing import PublicKey, seal
from ots_runtime.settings import Settings
from ots_runtime.telemetry import DEAD_LETTERED, subject_label

log = logging.getLogger(__name__)
MAX_ERROR_CHARS = 2000
# A CloudEvents extension attribute (lowercase letters and digits), beside `data`: readers of
# the letter's `DeadLetter` ignore it, and a copy of the letter's body keeps it.
SEALED_ATTRIBUTE = "otssealedoriginal"
MASKED_ATTRIBUTE = "otsmasked"
# Sealed, an original takes a third more (base64) beside its masked copy: 256 KiB keeps the
# letter well within the streams' 1 MiB messages. The example `ots.visit.requested` is 1.1 KB;
# with 500 residents of long names, 55 KB.
MAX_SEALED_BYTES = 256 * 1024


class _Sealing:
    """The key this process seals masked originals to, set once when the service starts."""

    key: PublicKey | None = None


def seal_originals_to(settings: Settings, service: str) -> PublicKey | None:
    """Read `OTS_DLQ_PUBLIC_KEY` for every dead letter of this process; a malformed one stops
    the start, a missing one is warned about once (letters then stay masked only)."""
    _Sealing.key = PublicKey.parse(settings.dlq_public_key) if settings.dlq_public_key else None
    if _Sealing.key is None:
        log.warning(
            "%s: OTS_DLQ_PUBLIC_KEY is not set: a dead letter whose original had personal data "
            "is kept masked only and cannot be replayed (`ots dlq keygen` makes a key pair)",
            service,
        )
    return _Sealing.key


def sealed_original_aad(event_id: str, service: str, subject: str) -> bytes:
    """What a sealed original is bound to: its letter (whose id names service, stream and
    stream sequence) and the subject a replay publishes it to."""
    return f"ots.dlq.sealed-original\n{event_id}\n{service}\n{subject}".encode()


def sealed_plaintext(headers: Mapping[str, str], data: bytes) -> bytes:
    """The original's headers as one line of JSON (escaped: no newline in it), then its body."""
    return json.dumps(dict(headers)).encode() + b"\n" + data


def unseal_plaintext(plaintext: bytes) -> tuple[dict[str, str], bytes]:
    line, _, data = plaintext.partition(b"\n")
    headers = json.loads(line)
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise ValueError("the sealed headers are not a map of strings")
    return headers, data


def _original(data: bytes) -> tuple[str, Literal["utf-8", "base64"]]:
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode(), "base64"


def _names_of(data: bytes) -> set[str]:
    """The names and addresses in the original: taken out of its error and headers too."""
    with contextlib.suppress(ValueError, RecursionError):
        parsed = json.loads(data)
        return names_in(parsed) | addresses_in(parsed)
    return set()


def letter_id(service: str, stream: str, stream_seq: int) -> str:
    """One letter per original message, even if the send is itself retried."""
    return f"dlq.{service}.{stream}.{stream_seq}"


class DeadLetterer:
    def __init__(
        self, js: JetStreamContext, service: str, *, seal_to: PublicKey | None = None
    ) -> None:
        """`seal_to` for masked originals: by default the key `seal_originals_to` read."""
        self._js = js
        self._service = service
        self._seal_to = seal_to

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
        masked = redact_original(data)
        original, encoding = _original(masked)
        error = redact_text(error, names)[:MAX_ERROR_CHARS]
        given = {k: v for k, v in (headers or {}).items() if isinstance(v, str)}
        kept = {k: redact_text(v, names) for k, v in given.items()}
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
        body = event.model_dump_json().encode()
        if masked != data or kept != given:
            attributes: dict[str, object] = {MASKED_ATTRIBUTE: True}
            sealed = self._sealed(event_id, subject, given, data)
            if sealed is not None:
                attributes[SEALED_ATTRIBUTE] = sealed
            body = json.dumps({**json.loads(body), **attributes}).encode()
        await self._js.publish(
            DEAD_LETTER.subject(self._service), body, headers={"Nats-Msg-Id": event_id}
        )
        DEAD_LETTERED.labels(self._service, subject_label(subject)).inc()
        log.warning(
            "dead-lettered %s after %d attempts: %s", subject_label(subject), attempts, error
        )

    def _sealed(
        self, event_id: str, subject: str, headers: Mapping[str, str], data: bytes
    ) -> str | None:
        key = self._seal_to or _Sealing.key
        if key is None:
            return None
        plaintext = sealed_plaintext(headers, data)
        if len(plaintext) > MAX_SEALED_BYTES:
            log.warning(
                "the original of %s (%d bytes) is over %d to seal: kept masked only",
                event_id, len(plaintext), MAX_SEALED_BYTES,
            )  # fmt: skip
            return None
        return seal(key, plaintext, sealed_original_aad(event_id, self._service, subject))
