"""The yearly services report: rows by year and one dimension, as JSON or CSV."""

import csv
import io
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from contracts.jember import kecamatan_names
from services.metrics.domain.history import UNKNOWN

UNKNOWN_NAME = "tidak diketahui"  # a kecamatan the published history does not name


class GroupBy(StrEnum):
    YEAR = "year"
    VENUE_TYPE = "venue_type"
    SERVICE_TYPE = "service_type"
    KECAMATAN = "kecamatan"


@dataclass(frozen=True)
class ReportRow:
    year: int
    key: str  # the group's value; empty when grouped by year only
    services: int


@dataclass(frozen=True)
class Report:
    year_from: int | None
    year_to: int | None
    group_by: GroupBy
    rows: list[ReportRow]

    def totals(self) -> dict[int, int]:
        totals: dict[int, int] = {}
        for row in self.rows:
            totals[row.year] = totals.get(row.year, 0) + row.services
        return dict(sorted(totals.items()))


def columns(group_by: GroupBy) -> list[str]:
    if group_by is GroupBy.YEAR:
        return ["year", "services"]
    if group_by is GroupBy.KECAMATAN:
        return ["year", "kecamatan_code", "kecamatan", "services"]
    return ["year", group_by.value, "services"]


def row_fields(group_by: GroupBy, row: ReportRow) -> dict[str, Any]:
    if group_by is GroupBy.YEAR:
        return {"year": row.year, "services": row.services}
    if group_by is GroupBy.KECAMATAN:
        name = UNKNOWN_NAME if row.key == UNKNOWN else kecamatan_names().get(row.key, "")
        return {"year": row.year, "kecamatan_code": row.key, "kecamatan": name,
                "services": row.services}  # fmt: skip
    return {"year": row.year, group_by.value: row.key, "services": row.services}


def as_json(report: Report) -> dict[str, Any]:
    totals = report.totals()
    return {
        "from": report.year_from,
        "to": report.year_to,
        "group_by": report.group_by.value,
        "rows": [row_fields(report.group_by, row) for row in report.rows],
        "totals": [{"year": year, "services": n} for year, n in totals.items()],
        "total": sum(totals.values()),
    }


def as_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns(report.group_by), lineterminator="\n")
    writer.writeheader()
    writer.writerows(row_fields(report.group_by, row) for row in report.rows)
    return out.getvalue()
