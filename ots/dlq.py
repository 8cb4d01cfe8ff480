"""Dead letters for operators: list them, show one redacted, replay, purge.

A replay publishes the original body to its original subject, so every durable consumer of
that subject sees it again; those that applied it already find its CloudEvent id in their
inbox and ignore it. The letter is deleted once the stream has acknowledged the replay.
"""

import base64
import contextlib
import json
import re
from dataclasses import dataclass
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from contracts.events import DeadLetter
from contracts.streams import DLQ
from contracts.subjects import DEAD_LETTER, GATEWAY_CAPTURE, envelope_model, spec_for_subject
from ots_runtime.redaction import REDACTED, redact_body, redact_text

SERVICE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
# Headers JetStream adds to a stored copy, and expectations a replay could never meet.
_DROPPED_HEADERS = ("Nats-Msg-Id", "Nats-Stream", "Nats-Sequence", "Nats-Time-Stamp",
                    "Nats-Subject", "Nats-Last-Sequence", "Nats-Num-Pending")  # fmt: skip
_DROPPED_PREFIXES = ("Nats-Expected-",)
_REDACTED_MARKS = re.compile(rf"\*{{12}}[0-9]{{4}}|{re.escape(REDACTED)}")  # left by redaction


class LetterNotFound(LookupError):
    def __init__(self, seq: int) -> None:
        super().__init__(f"no dead letter at {DLQ.name} sequence {seq}")
        self.seq = seq


class NotReplayable(Exception):
    """The letter cannot be replayed as it is: `reason` says why, and it stays in the DLQ."""


@dataclass(frozen=True)
class Letter:
    seq: int
    id: str
    dead: DeadLetter

    @property
    def body(self) -> bytes:
        if self.dead.original_encoding == "base64":
            return base64.b64decode(self.dead.original)
        return self.dead.original.encode()


@dataclass(frozen=True)
class Unreadable:
    """Something in the DLQ stream that is not a dead letter of the contract."""

    seq: int
    subject: str
    problem: str


@dataclass(frozen=True)
class Replayed:
    seq: int
    subject: str
    event_id: str | None
    stream: str
    stream_seq: int
    duplicate: bool


@dataclass(frozen=True)
class Skipped:
    seq: int
    subject: str
    reason: str


def dlq_subject(service: str | None = None) -> str:
    if service is None:
        return DLQ.subjects[0]
    if not SERVICE_NAME.match(service):
        raise ValueError(f"not a service name: {service!r}")
    return DEAD_LETTER.subject(service)


async def letters(js: JetStreamContext, service: str | None = None) -> list[Letter | Unreadable]:
    """Every letter in the DLQ (of `service`, if given), oldest first."""
    found: list[Letter | Unreadable] = []
    subject, seq = dlq_subject(service), 1
    while True:
        try:
            raw = await js.get_msg(DLQ.name, seq=seq, subject=subject, next=True)
        except NotFoundError:
            return found
        seq = raw.seq or seq
        found.append(_read(seq, raw.subject or "", raw.data or b""))
        seq += 1


async def get_letter(js: JetStreamContext, seq: int) -> Letter:
    try:
        raw = await js.get_msg(DLQ.name, seq=seq)
    except NotFoundError:
        raise LetterNotFound(seq) from None
    read = _read(seq, raw.subject or "", raw.data or b"")
    if isinstance(read, Unreadable):
        raise NotReplayable(f"sequence {seq} is not a dead letter: {read.problem}")
    return read


def _read(seq: int, subject: str, data: bytes) -> Letter | Unreadable:
    try:
        event = envelope_model(DEAD_LETTER).model_validate_json(data)
    except ValidationError as error:
        return Unreadable(seq, subject, f"{error.error_count()} validation error(s)")
    assert isinstance(event.data, DeadLetter)
    return Letter(seq, event.id, event.data)


def one_line(text: str, limit: int = 80) -> str:
    line = " ".join(redact_text(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def redacted(found: Letter) -> dict[str, Any]:
    """A letter as operators may read it: no NIK beyond its last four digits, no name."""
    dead = found.dead
    if dead.original_encoding == "base64":
        original: Any = f"(binary body of {len(found.body)} bytes withheld)"
    else:
        original = redact_body(dead.original)
    return {
        "seq": found.seq,
        "id": found.id,
        "service": dead.service,
        "subject": dead.subject,
        "attempts": dead.attempts,
        "failed_at": dead.failed_at.isoformat(),
        "error": redact_text(dead.error),
        "headers": {k: redact_text(v) for k, v in dead.headers.items()},
        "original": original,
    }


def replay_headers(found: Letter) -> dict[str, str]:
    """The original headers, but a fresh `Nats-Msg-Id`: JetStream would drop the replay as
    a duplicate of the original inside its duplicate window. Fixed per letter, so replaying
    one letter twice (two operators, or a retry after a lost reply) publishes it once; the
    letter id keeps it unique should the DLQ stream be recreated and its sequences restart."""
    kept = {
        k: v
        for k, v in found.dead.headers.items()
        if k not in _DROPPED_HEADERS and not k.startswith(_DROPPED_PREFIXES)
    }
    return {**kept, "Nats-Msg-Id": f"replay.{found.seq}.{found.id}"}


def _not_replayable(found: Letter) -> str | None:
    dead = found.dead
    if spec_for_subject(dead.subject) in (None, DEAD_LETTER):
        return f"{dead.subject} is not a subject of the contract"
    if spec_for_subject(dead.subject) == GATEWAY_CAPTURE:
        try:
            kept_sample = "sample" in json.loads(dead.original)["data"]
        except (ValueError, TypeError, KeyError):
            kept_sample = False
        if not kept_sample:
            return "the biometric sample is never kept: the device must send the capture again"
    if _REDACTED_MARKS.search(dead.original):
        return "its personal data was taken out: its producer must send it again"
    return None


async def replay(js: JetStreamContext, seq: int) -> Replayed:
    """Publish letter `seq`'s original to its subject, then delete the letter."""
    found = await get_letter(js, seq)
    reason = _not_replayable(found)
    if reason is not None:
        raise NotReplayable(reason)
    ack = await js.publish(found.dead.subject, found.body, headers=replay_headers(found))
    # Replayed and deleted meanwhile by someone else? The msg id made it one publish.
    with contextlib.suppress(NotFoundError):
        await js.delete_msg(DLQ.name, seq)
    return Replayed(
        seq=seq, subject=found.dead.subject, event_id=_event_id(found.body),
        stream=ack.stream, stream_seq=ack.seq, duplicate=bool(ack.duplicate),
    )  # fmt: skip


async def replay_all(js: JetStreamContext, service: str | None = None) -> list[Replayed | Skipped]:
    """Every letter (of `service`), oldest first; those that cannot be replayed are kept."""
    results: list[Replayed | Skipped] = []
    for found in await letters(js, service):
        try:
            results.append(await replay(js, found.seq))
        except (NotReplayable, LetterNotFound) as error:
            subject = found.dead.subject if isinstance(found, Letter) else found.subject
            results.append(Skipped(found.seq, subject, str(error)))
    return results


def _event_id(body: bytes) -> str | None:
    try:
        event_id = json.loads(body).get("id")
    except (ValueError, AttributeError):
        return None
    return event_id if isinstance(event_id, str) else None


async def count(js: JetStreamContext, service: str | None = None) -> int:
    if service is None:
        return int((await js.stream_info(DLQ.name)).state.messages)
    info = await js.stream_info(DLQ.name, subjects_filter=dlq_subject(service))
    return sum((info.state.subjects or {}).values())


async def purge(js: JetStreamContext, service: str | None = None) -> int:
    """Delete every letter (of `service`); the number there was just before."""
    before = await count(js, service)
    if service is None:
        await js.purge_stream(DLQ.name)
    else:
        await js.purge_stream(DLQ.name, subject=dlq_subject(service))
    return before
