"""A gateway message read from its bytes: the envelope, the model of its data, or a rejection."""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import Field, ValidationError

from contracts import RawCloudEvent
from contracts.events import GatewayCapture, GatewayException, GatewayService, GatewayVisitClosed
from contracts.gateway import codec
from contracts.gateway.reasons import Reason, Rejected
from contracts.gateway.signing import (
    SignatureCheck,
    SignedParts,
    decode_sample,
    signed_parts,
)
from contracts.subjects import (
    GATEWAY_CAPTURE,
    GATEWAY_EXCEPTION,
    GATEWAY_SERVICE,
    GATEWAY_VISIT_CLOSED,
    EventSpec,
)

GatewayData = GatewayCapture | GatewayException | GatewayService | GatewayVisitClosed
SPECS_BY_KIND: dict[str, EventSpec] = {
    "capture": GATEWAY_CAPTURE,
    "exception": GATEWAY_EXCEPTION,
    "service": GATEWAY_SERVICE,
    "visit-closed": GATEWAY_VISIT_CLOSED,
}
TYPES_BY_KIND = {kind: spec.type for kind, spec in SPECS_BY_KIND.items()}
MAX_SAMPLE_CHARS = 200_000  # the contract's bound on `sample`; larger is too large, not malformed
# The contract's id alphabet. An id outside it is never written anywhere, not even echoed in a
# rejection: a NUL fails every text or jsonb write, and with it the whole batch.
_ID = re.compile(r"[A-Za-z0-9_:-]{1,64}")


class ReceivedCapture(GatewayCapture):
    """The contract's capture, its `sample` alphabet left to the strict base64 decode that
    follows (which refuses every string the contract's pattern refuses): the same messages
    pass, without a regular expression over up to 200 000 characters."""

    sample: str = Field(min_length=4, max_length=MAX_SAMPLE_CHARS)


MODELS_BY_KIND: dict[str, type[GatewayData]] = {
    "capture": ReceivedCapture,
    "exception": GatewayException,
    "service": GatewayService,
    "visit-closed": GatewayVisitClosed,
}


@dataclass
class Inbound:
    event_id: str
    subject_device: str
    spec: EventSpec
    raw: dict[str, Any]
    data: GatewayData
    sample: bytes | None = None
    signed: SignedParts | None = None
    precheck: SignatureCheck | None = None
    source: str = ""  # the CloudEvents `source`, which must name the subject's device
    arrived_at: datetime | None = None  # when JetStream stored it, if known

    @property
    def inbox_key(self) -> str:
        """Per device: a message on another device's subject cannot spend this device's id."""
        return f"{self.subject_device}:{self.event_id}"

    @property
    def item_id(self) -> str:
        """What `ots.recording.rejected` calls `capture_id`: the id of the refused item."""
        for key in ("capture_id", "exception_id", "service_id", "visit_id"):
            if key in self.raw:
                return echoable(self.raw[key])
        return ""


def echoable(value: object) -> str:
    """An id from an untrusted message, as a rejection may repeat it: within the contract's
    alphabet (cut to 64 characters), else nothing."""
    text = str(value)[:64]
    return text if _ID.fullmatch(text) else ""


def subject_parts(subject: str) -> tuple[str, str]:
    """`ots.gateway.<device_id>.<kind>` → (device_id, kind); anything else → ("", "")."""
    parts = subject.split(".")
    if len(parts) != 4 or parts[:2] != ["ots", "gateway"] or not _ID.fullmatch(parts[2]):
        return "", ""
    return parts[2], parts[3]


def read(subject: str, body: bytes, max_bytes: int) -> Inbound:
    """Raises `Rejected` (too_large, malformed) for what cannot be read."""
    device_id, kind = subject_parts(subject)
    spec = SPECS_BY_KIND.get(kind)
    if len(body) > max_bytes:
        raise Rejected(Reason.TOO_LARGE)
    if spec is None or _escapes_nul(body):  # PostgreSQL stores no NUL, in text or jsonb
        raise Rejected(Reason.MALFORMED)
    try:
        raw = RawCloudEvent.model_validate(codec.loads(body))
        if raw.type != TYPES_BY_KIND[kind]:
            raise Rejected(Reason.MALFORMED)
        if len(str(raw.data.get("sample", ""))) > MAX_SAMPLE_CHARS:
            raise Rejected(Reason.TOO_LARGE)
        data = MODELS_BY_KIND[kind].model_validate(raw.data)
        signed = signed_parts(raw.data)
    except (ValueError, ValidationError, RecursionError) as error:  # RecursionError: deep nesting
        raise Rejected(Reason.MALFORMED) from error
    return Inbound(
        raw.id,
        device_id,
        spec,
        raw.data,
        data,
        _sample_of(data),
        signed,
        source=raw.source,
    )


def _escapes_nul(body: bytes) -> bool:
    """Whether the JSON text holds `\\u0000` (a raw NUL byte is no JSON at all). Looking for a
    backslash first is a `memchr`: a device's message usually has none, and the six-byte search
    through a whole sample costs more than parsing it."""
    return b"\\" in body and b"\\u0000" in body


def _sample_of(data: GatewayData) -> bytes | None:
    if not isinstance(data, GatewayCapture):
        return None
    sample = decode_sample(data.sample)
    if sample is None:
        raise Rejected(Reason.MALFORMED)
    return sample


def best_effort_ids(subject: str, body: bytes) -> tuple[str, str]:
    """(device id, item id) of a message that could not be read, for its rejection."""
    device_id, _ = subject_parts(subject)
    try:
        data = json.loads(body).get("data", {})
        data = data if isinstance(data, dict) else {}
        item = next(
            (data[k] for k in ("capture_id", "exception_id", "service_id") if k in data), ""
        )
    except (ValueError, AttributeError, RecursionError):
        item = ""
    return device_id, echoable(item)
