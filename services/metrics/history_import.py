"""`ots metrics import-history FILE.csv`: counts from before OTS, all rows or none."""

import sys
from pathlib import Path
from typing import TextIO

import asyncpg

from ots_runtime.migrations import migrate
from ots_runtime.settings import Settings
from services.metrics.adapters.history import replace_years, totals_by_year
from services.metrics.domain.history import parse

SCHEMA = "metrics"
MIGRATIONS = Path(__file__).with_name("migrations")


async def import_history(
    settings: Settings, path: Path, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            parsed = parse(f)
    except (OSError, UnicodeDecodeError) as error:
        print(f"ots: cannot read {path}: {error}", file=err)
        return 2
    if parsed.errors:
        for problem in parsed.errors:
            print(f"{path}: {problem}", file=err)
        print(f"ots: {len(parsed.errors)} bad row(s); nothing was imported", file=err)
        return 1
    _, database_url = settings.require_urls()
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn, SCHEMA, MIGRATIONS)
        await replace_years(conn, parsed.rows)
        totals = await totals_by_year(conn)
    finally:
        await conn.close()
    years = sorted({row.year for row in parsed.rows})
    print(f"imported {len(parsed.rows)} row(s) for {', '.join(map(str, years))}", file=out)
    for year in years:
        print(f"  {year}: {totals[year]:,} services", file=out)
    return 0
