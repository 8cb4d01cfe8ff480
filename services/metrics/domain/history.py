"""Counts from before the system existed, read from the department's CSV: all rows or none.

The department published totals per year only, with no split by service, venue or kecamatan:
a row may say `unknown` for any of the three, or leave the column out, and it is reported as
unknown ("tidak diketahui"), never spread over made-up categories.
"""

import csv
from collections.abc import Iterable
from dataclasses import dataclass

from contracts.enums import ServiceType, VenueType
from contracts.jember import is_jember_kecamatan

COLUMNS = ("year", "service_type", "venue_type", "kecamatan_code", "count")
REQUIRED = ("year", "count")
UNKNOWN = "unknown"  # what the published figures do not say: a service, venue or kecamatan
FIRST_YEAR, LAST_YEAR = 1990, 2100
MAX_COUNT = 10_000_000


@dataclass(frozen=True)
class HistoryRow:
    year: int
    service_type: str
    venue_type: str
    kecamatan_code: str
    count: int

    @property
    def key(self) -> tuple[int, str, str, str]:
        return self.year, self.service_type, self.venue_type, self.kecamatan_code


@dataclass(frozen=True)
class Parsed:
    rows: list[HistoryRow]
    errors: list[str]  # "line N: what is wrong", in file order


def _integer(text: str, low: int, high: int) -> int | None:
    text = text.strip()
    if not text.isdigit() or not low <= int(text) <= high:
        return None
    return int(text)


def _problems(raw: dict[str, str]) -> list[str]:
    problems = []
    if _integer(raw["year"], FIRST_YEAR, LAST_YEAR) is None:
        problems.append(f"year {raw['year']!r} is not a year between {FIRST_YEAR} and {LAST_YEAR}")
    service, venue, kecamatan = (raw[c].strip() for c in COLUMNS[1:4])
    if service != UNKNOWN and service not in set(ServiceType):
        problems.append(
            f"service_type {raw['service_type']!r} is not a contract service type or {UNKNOWN}"
        )
    if venue != UNKNOWN and venue not in set(VenueType):
        problems.append(
            f"venue_type {raw['venue_type']!r} is not a contract venue type or {UNKNOWN}"
        )
    if kecamatan != UNKNOWN and not is_jember_kecamatan(kecamatan):
        problems.append(
            f"kecamatan_code {raw['kecamatan_code']!r} is not a kecamatan of Jember or {UNKNOWN}"
        )
    if _integer(raw["count"], 0, MAX_COUNT) is None:
        problems.append(f"count {raw['count']!r} is not a whole number from 0 to {MAX_COUNT}")
    return problems


def _row(raw: dict[str, str]) -> HistoryRow:
    return HistoryRow(
        int(raw["year"]), raw["service_type"].strip(), raw["venue_type"].strip(),
        raw["kecamatan_code"].strip(), int(raw["count"]),
    )  # fmt: skip


def _header_fits(header: list[str]) -> bool:
    """Every column named once, from COLUMNS, with at least the year and the count."""
    return len(set(header)) == len(header) and set(REQUIRED) <= set(header) <= set(COLUMNS)


def parse(lines: Iterable[str]) -> Parsed:
    reader = csv.reader(lines)
    header = [h.strip() for h in next(reader, [])]
    if not _header_fits(header):
        return Parsed([], [
            f"line 1: the columns must be {','.join(COLUMNS)} (service_type, venue_type and "
            f"kecamatan_code may be left out: {UNKNOWN}), not {header}"
        ])  # fmt: skip
    rows: list[HistoryRow] = []
    errors: list[str] = []
    seen: dict[tuple[int, str, str, str], int] = {}
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            errors.append(f"line {line}: {len(values)} fields, expected {len(header)}")
            continue
        raw = {column: UNKNOWN for column in COLUMNS} | dict(zip(header, values, strict=True))
        problems = _problems(raw)
        row = None if problems else _row(raw)
        if row is not None and (first := seen.setdefault(row.key, line)) != line:
            problems.append(f"repeats line {first} (same year, service, venue and kecamatan)")
        errors.extend(f"line {line}: {p}" for p in problems)
        if row is not None and not problems:
            rows.append(row)
    return Parsed(rows, errors)
