"""Yearly reports from events and imported history, in JSON, CSV and PNG; the history import."""

import asyncio
import csv
import io
import os
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from nats.aio.client import Client

from contracts import events as ev
from contracts.subjects import SERVICE_DELIVERED
from ots_runtime.auth import Role
from ots_runtime.settings import Settings
from services.metrics.app import create_app
from tests.integration.test_metrics_support import Day, drained, publish_shuffled
from tests.support.http_service import serving
from tests.support.tokens import signed_token

EXAMPLE = Path(__file__).parents[2] / "examples" / "metrics_history.csv"
HEADER = "year,service_type,venue_type,kecamatan_code,count\n"


async def ots(settings: Settings, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "OTS_NATS_URL": str(settings.nats_url),
           "OTS_DATABASE_URL": str(settings.database_url), "OTS_ENV": settings.env}  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ots.cli", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


def delivered_on_new_years_night(counts: list[tuple[str, str, str, int]]) -> Day:
    day = Day()
    for n, (service, venue, kec, count) in enumerate(counts):
        data = ev.ServiceDelivered(
            service_id=f"svc-r-{n}", visit_id=f"visit-r-{n}", service_type=service, count=count,
            venue_type=venue, kecamatan_code=kec, team_id="team-01",
        )  # fmt: skip
        # 18:00 UTC on 31 December is 01:00 on 1 January 2027 in Jember (WIB)
        day.add(SERVICE_DELIVERED, data, datetime(2026, 12, 31, 18, tzinfo=UTC))
    return day


async def test_the_history_import_is_idempotent_and_matches_the_published_totals(
    settings: Settings, db: asyncpg.Pool
) -> None:
    for _ in range(2):
        code, out, err = await ots(settings, "metrics", "import-history", str(EXAMPLE))
        assert code == 0, err
    assert "2018: 5,051 services" in out and "2019: 16,975 services" in out
    totals = await db.fetch(
        "SELECT year, sum(count) AS n FROM metrics.history_counts GROUP BY year ORDER BY year"
    )
    assert [(r["year"], r["n"]) for r in totals] == [(2018, 5051), (2019, 16975)]


async def test_bad_rows_are_reported_by_line_and_nothing_is_imported(
    settings: Settings, db: asyncpg.Pool, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "2018,kk,school,350901,10\n"
                   "2018,passport,school,350901,5\n"
                   "2018,kk,school,350999,-3\n")  # fmt: skip
    code, _, err = await ots(settings, "metrics", "import-history", str(bad))
    assert code == 1
    assert "line 3: service_type 'passport'" in err
    assert "line 4: kecamatan_code '350999'" in err and "line 4: count '-3'" in err
    assert "line 2" not in err
    assert await db.fetchval("SELECT count(*) FROM metrics.history_counts") == 0


async def test_reports_match_the_counts_in_json_csv_and_png(settings: Settings, nc: Client) -> None:
    code, _, err = await ots(settings, "metrics", "import-history", str(EXAMPLE))
    assert code == 0, err
    day = delivered_on_new_years_night(
        [("ktp_el_recording", "school", "350921", 40), ("kk", "home", "350901", 3),
         ("ktp_el_recording", "home", "350901", 2)]
    )  # fmt: skip
    async with serving(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {signed_token(Role.VIEWER)}"
        await publish_shuffled(nc, day.events)
        await drained(nc)
        by_year = (await client.get("/v1/reports/services")).json()
        by_venue = (
            await client.get("/v1/reports/services?from=2019&to=2027&group_by=venue_type")
        ).json()
        as_csv = await client.get(
            "/v1/reports/services?group_by=kecamatan", headers={"Accept": "text/csv"}
        )
        chart = await client.get("/v1/reports/services.png?split=service_type")
        wrong = await client.get("/v1/reports/services?from=2020&to=2019")
    assert by_year["totals"] == [{"year": 2018, "services": 5051},
                                 {"year": 2019, "services": 16975},
                                 {"year": 2027, "services": 45}]  # fmt: skip
    assert by_year["total"] == 5051 + 16975 + 45
    venues_2027 = {r["venue_type"]: r["services"] for r in by_venue["rows"] if r["year"] == 2027}
    assert venues_2027 == {"school": 40, "home": 5}
    # the department published a total only: its venue is unknown, never a made-up split
    assert [r for r in by_venue["rows"] if r["year"] == 2019] == [
        {"year": 2019, "venue_type": "unknown", "services": 16975}
    ]
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert as_csv.headers["content-type"].startswith("text/csv")
    per_year: Counter[str] = Counter()
    for row in rows:
        per_year[row["year"]] += int(row["services"])
    assert per_year == {"2018": 5051, "2019": 16975, "2027": 45}
    assert {"year": "2027", "kecamatan_code": "350921", "kecamatan": "Sumbersari",
            "services": "40"} in rows  # fmt: skip
    assert {"year": "2018", "kecamatan_code": "unknown", "kecamatan": "tidak diketahui",
            "services": "5051"} in rows  # fmt: skip
    assert chart.headers["content-type"] == "image/png"
    assert chart.content.startswith(b"\x89PNG") and len(chart.content) > 10_000
    assert wrong.status_code == 422


async def test_the_chart_renders_the_imported_years(settings: Settings, tmp_path: Path) -> None:
    code, _, err = await ots(settings, "metrics", "import-history", str(EXAMPLE))
    assert code == 0, err
    async with serving(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {signed_token(Role.VIEWER)}"
        chart: httpx.Response = await client.get("/v1/reports/services.png")
    (tmp_path / "services.png").write_bytes(chart.content)
    assert chart.status_code == 200 and chart.content.startswith(b"\x89PNG")


async def test_totals_as_published_import_with_service_venue_and_kecamatan_unknown(
    settings: Settings, db: asyncpg.Pool, tmp_path: Path
) -> None:
    published = tmp_path / "published.csv"
    published.write_text("year,count\n2018,5051\n2019,16975\n")
    code, out, err = await ots(settings, "metrics", "import-history", str(published))
    assert code == 0, err
    assert "2018: 5,051 services" in out and "2019: 16,975 services" in out
    rows = await db.fetch("SELECT year, service_type, venue_type, kecamatan_code, count "
                          "FROM metrics.history_counts ORDER BY year")  # fmt: skip
    assert [tuple(r) for r in rows] == [(2018, "unknown", "unknown", "unknown", 5051),
                                        (2019, "unknown", "unknown", "unknown", 16975)]  # fmt: skip
