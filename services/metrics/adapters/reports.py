"""Services per year from the events and the imported history, grouped for a report."""

import asyncpg

from services.metrics.domain.reports import GroupBy, Report, ReportRow

_KEY_COLUMN = {
    GroupBy.YEAR: "''",
    GroupBy.VENUE_TYPE: "venue_type",
    GroupBy.SERVICE_TYPE: "service_type",
    GroupBy.KECAMATAN: "kecamatan_code",
}
_ALL_COUNTS = (
    "SELECT year, service_type, venue_type, kecamatan_code, count FROM metrics.service_counts "
    "UNION ALL "
    "SELECT year, service_type, venue_type, kecamatan_code, count FROM metrics.history_counts"
)


async def services_report(
    pool: asyncpg.Pool, year_from: int | None, year_to: int | None, group_by: GroupBy
) -> Report:
    key = _KEY_COLUMN[group_by]
    rows = await pool.fetch(
        f"SELECT year, {key} AS key, sum(count)::bigint AS services FROM ({_ALL_COUNTS}) c "
        "WHERE ($1::int IS NULL OR year >= $1) AND ($2::int IS NULL OR year <= $2) "
        "GROUP BY year, key HAVING sum(count) > 0 ORDER BY year, key",
        year_from,
        year_to,
    )
    found = [ReportRow(r["year"], r["key"], r["services"]) for r in rows]
    return Report(year_from, year_to, group_by, found)
