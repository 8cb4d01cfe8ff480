"""JSON and base64 as the gateway protocol reads them: orjson and pybase64 where installed (the
services), the standard library made to give the same answers where not (the SDK alone)."""

import base64
import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - exercised by the SDK installed on its own
    orjson = None  # type: ignore[assignment]
try:
    import pybase64
except ImportError:  # pragma: no cover
    pybase64 = None  # type: ignore[assignment]

_INT64_MIN, _UINT64_END = -(2**63), 2**64


def loads(body: bytes | str) -> Any:
    """Raises ValueError for what is not JSON as orjson reads it: no NaN or Infinity, no lone
    surrogates, and integers beyond 64 bits read as floats."""
    if orjson is not None:
        return orjson.loads(body)
    value = json.loads(body, parse_constant=_refuse, parse_int=_int64, parse_float=_finite)
    json.dumps(value, ensure_ascii=False).encode()  # UnicodeEncodeError (a ValueError): surrogate
    return value


def dumps_sorted(value: Any) -> bytes | None:
    """Sorted keys, no whitespace, UTF-8 unescaped; None where the fast road does not apply."""
    if orjson is None:
        return None
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return None


def b64decode_strict(text: str) -> bytes:
    """Standard alphabet, padded, nothing after it; raises ValueError (binascii.Error) else."""
    if pybase64 is not None:
        return pybase64.b64decode(text, validate=True)
    return base64.b64decode(text, validate=True)


def _refuse(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _int64(text: str) -> int | float:
    value = int(text)
    return value if _INT64_MIN <= value < _UINT64_END else float(value)


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("number is infinity when parsed as double")
    return value
