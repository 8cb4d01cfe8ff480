"""The conformance kit's `verify`: a vendor's log of gateway messages judged as recording would.

Each line of the log is `{"subject": "ots.gateway.<device>.<kind>", "event": <the CloudEvent>}`;
`event` may also be a string, the message's exact bytes as text. A line that is not such an
object is judged as recording judges a message it cannot read: `malformed`."""

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from contracts.gateway.judge import DEFAULT_MAX_MESSAGE_BYTES, OfflineJudge


class BadKey(ValueError):
    """A `--key` that is not DEVICE_ID=PUBLIC_KEY_BASE64 of 32 bytes."""


def parse_key(spec: str) -> tuple[str, bytes]:
    device_id, _, encoded = spec.partition("=")
    try:
        key = base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error) as error:
        raise BadKey(f"--key {device_id}: the public key is not base64") from error
    if not device_id or len(key) != 32:
        raise BadKey(f"--key {spec[:80]!r}: expected DEVICE_ID=<32-byte key in base64>")
    return device_id, key


@dataclass(frozen=True)
class Logged:
    subject: str
    body: bytes


def logged(line: str) -> Logged:
    """The subject and the bytes recording would receive for one line of the log."""
    try:
        entry: Any = json.loads(line)
    except ValueError:
        return Logged("", line.encode("utf-8", "surrogatepass"))
    if not isinstance(entry, dict):
        return Logged("", line.encode())
    subject, event = entry.get("subject"), entry.get("event")
    subject = subject if isinstance(subject, str) else ""
    if isinstance(event, str):
        return Logged(subject, event.encode("utf-8", "surrogatepass"))
    return Logged(subject, json.dumps(event, ensure_ascii=False).encode("utf-8", "surrogatepass"))


def verify_lines(
    lines: Iterable[str], keys: dict[str, bytes], max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
) -> list[tuple[int, str]]:
    """(line number, `ok` or `rejected <reason>`) for every non-blank line, in order."""
    judge, numbers = OfflineJudge(keys, max_bytes), []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        entry = logged(line)
        judge.judge(entry.subject, entry.body)
        numbers.append(number)
    return [
        (number, "ok" if verdict is None else f"rejected {verdict.value}")
        for number, verdict in zip(numbers, judge.end_of_day(), strict=True)
    ]
