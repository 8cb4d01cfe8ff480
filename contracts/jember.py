"""Reference data every service agrees on: Jember's kecamatan and its bounding box."""

import csv
from datetime import timedelta, timezone
from functools import cache
from pathlib import Path

WIB = timezone(timedelta(hours=7), "WIB")  # Western Indonesia Time: Jember, all year

JEMBER_REGENCY_PREFIX = "3509"
LAT_RANGE = (-8.60, -7.95)
LON_RANGE = (113.25, 114.05)


@cache
def kecamatan_names() -> dict[str, str]:
    """The 31 kecamatan of Jember by their six-digit code."""
    path = Path(__file__).with_name("jember_kecamatan.csv")
    with path.open(encoding="utf-8") as f:
        return {row["code"]: row["name"] for row in csv.DictReader(f)}


def is_jember_kecamatan(code: str) -> bool:
    return code in kecamatan_names()


def is_inside_jember(lat: float, lon: float) -> bool:
    return LAT_RANGE[0] <= lat <= LAT_RANGE[1] and LON_RANGE[0] <= lon <= LON_RANGE[1]
