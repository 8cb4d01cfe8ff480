"""Personal data out of what operators read: NIKs to their last four digits, names dropped.

For dead letters: the error text is redacted when the letter is written, the original body
when it is shown (the stored body stays whole, so that it can be replayed).
"""

import json
import re
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

_NIK = re.compile(r"(?<![0-9])[0-9]{12}([0-9]{4})(?![0-9])")
_NAMES = "|".join(sorted(NAME_KEYS, key=len, reverse=True))
# `"name": "Budi"`, `'name': 'Budi'`, `name='Budi'`: the key, then the quoted value.
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
_SENSITIVE_COLUMN = re.compile(r"nik|name|nama", re.IGNORECASE)
_WHOLE_NIK = re.compile(r"(?:[0-9]{12}|\*{12})[0-9]{4}")


def mask_nik_digits(text: str) -> str:
    """Every 16-digit run standing alone becomes `************0001`."""
    return _NIK.sub(lambda m: "*" * 12 + m.group(1), text)


def redact_text(text: str) -> str:
    """An error message or other free text: NIKs masked, quoted names and inputs replaced."""
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


def redact_value(value: Any, *, key: str = "") -> Any:
    """A parsed JSON value: keys naming a person dropped, NIKs masked, strings redacted."""
    if isinstance(value, dict):
        return {
            k: redact_value(v, key=k)
            for k, v in value.items()
            if not (isinstance(k, str) and k.lower() in NAME_KEYS)
        }
    if isinstance(value, list):
        return [redact_value(v, key=key) for v in value]
    if "nik" in key.lower() and isinstance(value, str | int) and not isinstance(value, bool):
        return _mask_whole_nik(str(value))
    if isinstance(value, str):
        return redact_text(value)
    return value


def _mask_whole_nik(nik: str) -> str:
    """A value held under a NIK key: its last four digits if it is one (or was), else nothing."""
    if _WHOLE_NIK.fullmatch(nik):
        return "*" * 12 + nik[12:]
    return REDACTED


def redact_body(text: str) -> Any:
    """A message body as text: its JSON redacted if it is JSON, else the text redacted."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return redact_text(text)
    return redact_value(parsed)
