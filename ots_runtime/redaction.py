"""Personal data out of what operators read: NIKs to their last four digits, names dropped,
addresses and the coordinates of a home visit replaced by `[redacted]`.

Dead letters are redacted when they are written (their original body, error and headers) and
again when shown; log lines when they are formatted. A letter whose original had personal data
in it keeps that original only sealed to an administrator's key (`ots_runtime.sealing`), which
`ots dlq replay` needs to send it again.
"""

import json
import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[redacted]"
NAME_KEYS = frozenset(
    {
        "name", "full_name", "fullname", "nama", "nama_lengkap", "first_name", "last_name",
        "middle_name", "given_name", "family_name", "display_name", "person_name",
        "resident_name", "mother_name", "father_name",
    }
)  # fmt: skip
"""JSON keys whose values are dropped. `agency_name` is an agency's, not a person's: kept."""
ADDRESS_KEYS = frozenset({"address", "alamat"})
"""JSON keys whose values are replaced wherever they stand: an address is where people live."""
COORDINATE_KEYS = frozenset({"lat", "lon", "latitude", "longitude"})
"""Replaced in an object whose `type` is `home` (a home visit's venue): it points at a house.
Other venues (a school, a village office) and a team's base are public places: kept."""
HOME = "home"

_NIK = re.compile(r"(?<![0-9])[0-9]{12}([0-9]{4})(?![0-9])")
_NAMES = "|".join(sorted(NAME_KEYS | ADDRESS_KEYS, key=len, reverse=True))
# `"name": "Budi"`, `'name': 'Budi'`, `address='Jl. Mawar 12'`: the key, then the quoted value.
_NAMED_VALUE = re.compile(
    rf"""(?P<key>(?<![A-Za-z0-9_])(?P<kq>["']?)(?:{_NAMES})(?P=kq)\s*[:=]\s*)"""
    r"""(?P<vq>["'])(?:\\.|(?!(?P=vq)).)*(?P=vq)""",
    re.IGNORECASE,
)
# pydantic's `input_value=...` repeats the offending input, whatever it is.
_INPUT_VALUE = re.compile(r"""input_value=(?:'(?:\\.|[^'])*'|"(?:\\.|[^"])*"|[^,\]\n]*)""")
# asyncpg details: `Key (nik)=(3509...) already exists.`, `Failing row contains (...)`.
_KEY_DETAIL = re.compile(r"Key \((?P<cols>.*?)\)=\((?P<vals>.*?)\)(?=\s|\.|,|;|$)")
_FAILING_ROW = re.compile(r"(Failing row contains )\([^\n]*\)")
_SENSITIVE_COLUMN = re.compile(r"nik|name|nama|address|alamat", re.IGNORECASE)
_WHOLE_NIK = re.compile(r"(?:[0-9]{12}|\*{12})[0-9]{4}")


def mask_nik_digits(text: str) -> str:
    """Every 16-digit run standing alone becomes `************0001`."""
    return _NIK.sub(lambda m: "*" * 12 + m.group(1), text)


def redact_text(text: str, known_names: Iterable[str] = ()) -> str:
    """An error message or other free text: NIKs masked, quoted names and inputs replaced, and
    `known_names` (those of the message the text is about) wherever they stand."""
    for name in sorted(set(known_names), key=len, reverse=True):
        text = text.replace(name, REDACTED)
    text = _KEY_DETAIL.sub(_redact_key_detail, text)
    text = _FAILING_ROW.sub(rf"\1({REDACTED})", text)
    text = _INPUT_VALUE.sub(f"input_value={REDACTED}", text)
    text = _NAMED_VALUE.sub(lambda m: f'{m.group("key")}"{REDACTED}"', text)
    return mask_nik_digits(text)


def _redact_key_detail(match: re.Match[str]) -> str:
    columns, values = match.group("cols"), match.group("vals")
    if not _SENSITIVE_COLUMN.search(columns):
        return match.group(0)
    names, parts = columns.split(", "), values.split(", ")
    if len(names) != len(parts):
        return f"Key ({columns})=({REDACTED})"
    kept = [_redact_column(n, v) for n, v in zip(names, parts, strict=True)]
    return f"Key ({columns})=({', '.join(kept)})"


def _redact_column(column: str, value: str) -> str:
    if not _SENSITIVE_COLUMN.search(column):
        return value
    if column.strip().lower() == "nik":
        return _mask_whole_nik(value)
    return REDACTED


def redact_value(value: Any, *, key: str = "", known_names: Iterable[str] = ()) -> Any:
    """A parsed JSON value: keys naming a person dropped, NIKs masked, strings redacted (and
    `known_names` taken out of them)."""
    known = tuple(known_names)
    if isinstance(value, dict):
        home = _is_home(value)
        return {
            k: _redacted_member(k, v, home, known)
            for k, v in value.items()
            if not (isinstance(k, str) and k.lower() in NAME_KEYS)
        }
    if isinstance(value, list):
        return [redact_value(v, key=key, known_names=known) for v in value]
    if "nik" in key.lower() and isinstance(value, str | int) and not isinstance(value, bool):
        return _mask_whole_nik(str(value))
    if isinstance(value, str):
        return redact_text(value, known)
    return value


def _is_home(value: dict[Any, Any]) -> bool:
    kind = value.get("type")
    return isinstance(kind, str) and kind.lower() == HOME


def _redacted_member(key: Any, value: Any, home: bool, known: tuple[str, ...]) -> Any:
    lowered = key.lower() if isinstance(key, str) else ""
    if value not in ("", None) and (
        lowered in ADDRESS_KEYS or (home and lowered in COORDINATE_KEYS)
    ):
        return REDACTED
    return redact_value(value, key=key if isinstance(key, str) else "", known_names=known)


def _mask_whole_nik(nik: str) -> str:
    """A value held under a NIK key: its last four digits if it is one (or was), else nothing."""
    if _WHOLE_NIK.fullmatch(nik):
        return "*" * 12 + nik[12:]
    return REDACTED


def names_in(value: Any) -> set[str]:
    """Every person's name in a parsed JSON value: the strings held under a name key."""
    if isinstance(value, dict):
        found = {v for k, v in value.items() if isinstance(k, str) and k.lower() in NAME_KEYS
                 and isinstance(v, str) and len(v.strip()) > 1}  # fmt: skip
        return found.union(*(names_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(names_in(v) for v in value))
    return set()


def addresses_in(value: Any) -> set[str]:
    """Every address in a parsed JSON value: the strings held under an address key."""
    if isinstance(value, dict):
        found = {v for k, v in value.items() if isinstance(k, str) and k.lower() in ADDRESS_KEYS
                 and isinstance(v, str) and len(v.strip()) > 1}  # fmt: skip
        return found.union(*(addresses_in(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(addresses_in(v) for v in value))
    return set()


_NIK_BYTES = re.compile(rb"(?<![0-9])[0-9]{12}([0-9]{4})(?![0-9])")


def redact_original(data: bytes) -> bytes:
    """A message body as a dead letter keeps it: JSON redacted member by member (byte for byte
    the same if there was nothing to redact, so that it can still be replayed), other text
    redacted as text, and in bytes that are not text every NIK masked."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _NIK_BYTES.sub(rb"************\1", data)
    try:
        parsed = json.loads(text)
        redacted = redact_value(parsed, known_names=names_in(parsed) | addresses_in(parsed))
    except (ValueError, RecursionError):
        return redact_text(text).encode()
    if redacted == parsed:
        return data
    return json.dumps(redacted).encode()


def redact_body(text: str) -> Any:
    """A message body as text: its JSON redacted if it is JSON, else the text redacted."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return redact_text(text)
    return redact_value(parsed)
