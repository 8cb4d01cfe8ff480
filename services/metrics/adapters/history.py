"""Imported history: the years a file names are replaced whole, in one transaction."""

import asyncpg

from services.metrics.domain.history import HistoryRow


async def replace_years(conn: asyncpg.Connection, rows: list[HistoryRow]) -> None:
    years = sorted({row.year for row in rows})
    async with conn.transaction():
        await conn.execute("DELETE FROM metrics.history_counts WHERE year = ANY($1)", years)
        await conn.copy_records_to_table(
            "history_counts",
            schema_name="metrics",
            columns=["year", "service_type", "venue_type", "kecamatan_code", "count"],
            records=[
                (r.year, r.service_type, r.venue_type, r.kecamatan_code, r.count) for r in rows
            ],
        )


async def totals_by_year(conn: asyncpg.Connection) -> dict[int, int]:
    rows = await conn.fetch(
        "SELECT year, sum(count)::bigint AS n FROM metrics.history_counts GROUP BY year ORDER BY 1"
    )
    return {r["year"]: r["n"] for r in rows}
