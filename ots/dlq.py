"""Dead letters for operators: list them, show one redacted, replay, purge.

A replay publishes the original body to its original subject, so every durable consumer of
that subject sees it again; those that applied it already find its CloudEvent id in their
inbox and ignore it. The letter is deleted once the stream has acknowledged the replay.

A letter whose original was masked is replayed from its sealed original (body and headers as
they were), opened with the administrators' private key; without the key, or without a sealed
original, it is kept.

Every service may publish its own `ots.dlq.<service>`, and anyone can seal (the key is public):
a letter proves nothing about who wrote it. So a replay, published with an administrator's
rights, sends only what the letter's service could have dead-lettered: a letter stored on
`ots.dlq.<service>`, whose id names that service, of a subject one of its durable consumers
reads (`ots.registry`) from the stream its id names.
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
from ots.registry import service as service_entry
from ots_runtime.dead_letter import (
    MASKED_ATTRIBUTE,
    SEALED_ATTRIBUTE,
    sealed_original_aad,
    unseal_plaintext,
)
from ots_runtime.redaction import REDACTED, redact_body, redact_text
from ots_runtime.sealing import PrivateKey, SealError, kid_of, open_sealed

SERVICE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
# Headers JetStream adds to a stored copy, and expectations a replay could never meet.
_DROPPED_HEADERS = ("Nats-Msg-Id", "Nats-Stream", "Nats-Sequence", "Nats-Time-Stamp",
                    "Nats-Subject", "Nats-Last-Sequence", "Nats-Num-Pending")  # fmt: skip
_DROPPED_PREFIXES = ("Nats-Expected-",)
_NO_SAMPLE = "the biometric sample is never kept: the device must send the capture again"
_REDACTED_MARKS = re.compile(rf"\*{{12}}[0-9]{{4}}|{re.escape(REDACTED)}")  # left by redaction
_LETTER_ID = re.compile(r"^dlq\.(?P<service>[A-Za-z0-9_-]+)\.(?P<stream>[A-Za-z0-9_-]+)\.[0-9]+$")


class LetterNotFound(LookupError):
    def __init__(self, seq: int) -> None:
        super().__init__(f"no dead letter at {DLQ.name} sequence {seq}")
        self.seq = seq


class NotReplayable(Exception):
    """The letter cannot be replayed as it is: `reason` says why, and it stays in the DLQ."""


class KeyMissing(NotReplayable):
    """Its original is sealed, and the private key it was sealed to was not given."""


Keys = dict[str, PrivateKey]


@dataclass(frozen=True)
class Letter:
    seq: int
    id: str
    dead: DeadLetter
    sealed: str | None = None  # its original, sealed (the letter's `otssealedoriginal`)
    masked: bool = False  # masking changed its body or headers (the letter's `otsmasked`)
    stored_subject: str = ""  # the DLQ subject it was stored on

    @property
    def body(self) -> bytes:
        if self.dead.original_encoding == "base64":
            return base64.b64decode(self.dead.original)
        return self.dead.original.encode()


@dataclass(frozen=True)
class Original:
    """A letter's original as it was published: what a replay publishes again."""

    body: bytes
    headers: dict[str, str]


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
    attributes = json.loads(data)  # valid JSON, an object: validated above
    sealed, masked = attributes.get(SEALED_ATTRIBUTE), attributes.get(MASKED_ATTRIBUTE, False)
    if sealed is not None and not isinstance(sealed, str):
        return Unreadable(seq, subject, f"{SEALED_ATTRIBUTE} is not a string")
    if not isinstance(masked, bool):
        return Unreadable(seq, subject, f"{MASKED_ATTRIBUTE} is not a boolean")
    return Letter(seq, event.id, event.data, sealed, masked, subject)


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
        "sealed_original": _sealed_to(found),
    }


def _sealed_to(found: Letter) -> str | None:
    """Whose key the letter's original is sealed to, never the box itself."""
    if found.sealed is None:
        return None
    try:
        return f"sealed to DLQ key {kid_of(found.sealed)}"
    except SealError as error:
        return f"unreadable: {error}"


def original(found: Letter, keys: Keys | None) -> Original:
    """The original as it was published: its sealed copy opened with `keys`, or, if it was
    never masked, the letter's own copy."""
    if found.sealed is None:
        # Letters written before `otsmasked` tell only by the marks masking left.
        if (
            found.masked
            or _REDACTED_MARKS.search(found.dead.original)
            or _REDACTED_MARKS.search(json.dumps(found.dead.headers))
        ):
            raise NotReplayable(
                "its personal data was masked and no sealed original was kept (the service "
                "had no OTS_DLQ_PUBLIC_KEY, or the original was too large): its producer must "
                "send it again"
            )
        return Original(found.body, dict(found.dead.headers))
    try:
        kid = kid_of(found.sealed)
    except SealError as error:
        raise NotReplayable(f"its sealed original is refused: {error}") from None
    if not keys:
        raise KeyMissing(
            f"its original is sealed to DLQ key {kid}: give that private key "
            "(OTS_DLQ_PRIVATE_KEY, or --key-file) to open it"
        )
    aad = sealed_original_aad(found.id, found.dead.service, found.dead.subject)
    try:
        plaintext = open_sealed(keys, found.sealed, aad)
        headers, body = unseal_plaintext(plaintext)
    except KeyError:
        given = ", ".join(sorted(keys))
        raise KeyMissing(
            f"its original is sealed to DLQ key {kid}, not to the key(s) given ({given})"
        ) from None
    except (SealError, ValueError):
        raise NotReplayable(
            "its sealed original is refused: it does not open with DLQ key "
            f"{kid} for this letter (altered, or moved from another letter)"
        ) from None
    return Original(body, headers)


def shown_original(found: Letter, keys: Keys | None) -> dict[str, Any]:
    """The original unmasked, for `ots dlq show --original` (an administrator, with the key)."""
    opened = original(found, keys)
    try:
        body: Any = opened.body.decode("utf-8")
    except UnicodeDecodeError:
        body = {"base64": base64.b64encode(opened.body).decode()}
    return {"seq": found.seq, "id": found.id, "subject": found.dead.subject,
            "headers": opened.headers, "body": body}  # fmt: skip


def replay_headers(found: Letter, headers: dict[str, str] | None = None) -> dict[str, str]:
    """The original headers, but a fresh `Nats-Msg-Id`: JetStream would drop the replay as
    a duplicate of the original inside its duplicate window. Fixed per letter, so replaying
    one letter twice (two operators, or a retry after a lost reply) publishes it once; the
    letter id keeps it unique should the DLQ stream be recreated and its sequences restart."""
    kept = {
        k: v
        for k, v in (found.dead.headers if headers is None else headers).items()
        if k not in _DROPPED_HEADERS and not k.startswith(_DROPPED_PREFIXES)
    }
    return {**kept, "Nats-Msg-Id": f"replay.{found.seq}.{found.id}"}


def _without_its_sample(subject: str, body: bytes) -> bool:
    if spec_for_subject(subject) != GATEWAY_CAPTURE:
        return False
    try:
        return "sample" not in json.loads(body)["data"]
    except (ValueError, TypeError, KeyError):
        return True


def check_provenance(found: Letter) -> None:
    """Refused unless the letter's service could have written it: the subject it is stored on,
    its id and the subject it names all point at that service and what it consumes."""
    service, subject = found.dead.service, found.dead.subject
    own = dlq_subject(service) if SERVICE_NAME.match(service) else None
    if found.stored_subject != own:
        raise NotReplayable(
            f"it names {service!r} as its service but was stored on {found.stored_subject}: "
            "a service dead-letters only on its own ots.dlq.<service>"
        )
    named = _LETTER_ID.match(found.id)
    if named is None or named["service"] != service:
        raise NotReplayable(
            f"its id {found.id} does not name {service} as the service that dead-lettered it "
            f"(dlq.{service}.<stream>.<sequence>)"
        )
    entry = service_entry(service)
    if entry is None:
        raise NotReplayable(f"{service} is not a service of OTS")
    stream = named["stream"]
    if not any(
        spec.stream == stream and any(_matches(f, subject) for f in spec.filter_subjects)
        for spec in entry.consumers
    ):
        raise NotReplayable(
            f"{service} consumes no {subject} from {stream}: a service's letter may only "
            "replay what that service reads (forged, or from a consumer since removed)"
        )


def _matches(filter_subject: str, subject: str) -> bool:
    """NATS subject matching: `*` one token, `>` one or more at the end."""
    pattern, tokens = filter_subject.split("."), subject.split(".")
    for i, part in enumerate(pattern):
        if part == ">":
            return len(tokens) > i
        if i >= len(tokens) or part not in ("*", tokens[i]):
            return False
    return len(tokens) == len(pattern)


async def replay(js: JetStreamContext, seq: int, keys: Keys | None = None) -> Replayed:
    """Publish letter `seq`'s original to its subject, then delete the letter."""
    found = await get_letter(js, seq)
    check_provenance(found)
    if spec_for_subject(found.dead.subject) in (None, DEAD_LETTER):
        raise NotReplayable(f"{found.dead.subject} is not a subject of the contract")
    # Masking keeps every member but names: the letter's own copy tells, without the key.
    if _without_its_sample(found.dead.subject, found.body):
        raise NotReplayable(_NO_SAMPLE)
    opened = original(found, keys)
    if _without_its_sample(found.dead.subject, opened.body):
        raise NotReplayable(_NO_SAMPLE)
    headers = replay_headers(found, opened.headers)
    ack = await js.publish(found.dead.subject, opened.body, headers=headers)
    # Replayed and deleted meanwhile by someone else? The msg id made it one publish.
    with contextlib.suppress(NotFoundError):
        await js.delete_msg(DLQ.name, seq)
    return Replayed(
        seq=seq, subject=found.dead.subject, event_id=_event_id(opened.body),
        stream=ack.stream, stream_seq=ack.seq, duplicate=bool(ack.duplicate),
    )  # fmt: skip


async def replay_all(
    js: JetStreamContext, service: str | None = None, keys: Keys | None = None
) -> list[Replayed | Skipped]:
    """Every letter (of `service`), oldest first; those that cannot be replayed are kept."""
    results: list[Replayed | Skipped] = []
    for found in await letters(js, service):
        try:
            results.append(await replay(js, found.seq, keys))
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
