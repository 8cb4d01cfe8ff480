"""The department's history CSV and the report's JSON and CSV shapes."""

from pathlib import Path

from services.metrics.domain.history import parse
from services.metrics.domain.reports import GroupBy, Report, ReportRow, as_csv, as_json

HEADER = "year,service_type,venue_type,kecamatan_code,count\n"
EXAMPLE = Path(__file__).parents[2] / "examples" / "metrics_history.csv"


def test_the_example_history_holds_the_published_totals() -> None:
    with EXAMPLE.open(encoding="utf-8") as f:
        parsed = parse(f)
    assert parsed.errors == []
    totals: dict[int, int] = {}
    for row in parsed.rows:
        totals[row.year] = totals.get(row.year, 0) + row.count
    assert totals == {2018: 5051, 2019: 16975}
    assert len({row.kecamatan_code for row in parsed.rows}) > 20


def test_every_bad_row_is_named_by_its_line() -> None:
    text = (
        HEADER
        + "2018,kk,school,350901,10\n"
        + "\n"
        + "20x8,kk,school,350901,10\n"
        + "2018,kk,spaceport,350901,10\n"
        + "2018,kk,school,350901,10\n"
        + "2018,kk,school\n"
    )
    parsed = parse(text.splitlines(keepends=True))
    assert [e.split(":")[0] for e in parsed.errors] == ["line 4", "line 5", "line 6", "line 7"]
    assert "repeats line 2" in parsed.errors[2]


def test_a_file_with_other_columns_is_refused_at_line_one() -> None:
    parsed = parse(["year,service,count\n", "2018,kk,3\n"])
    assert parsed.rows == [] and parsed.errors[0].startswith("line 1:")


def test_a_report_totals_each_year_in_json_and_lists_rows_in_csv() -> None:
    report = Report(2018, 2019, GroupBy.KECAMATAN, [
        ReportRow(2018, "350921", 7), ReportRow(2018, "350901", 3), ReportRow(2019, "350921", 5),
    ])  # fmt: skip
    body = as_json(report)
    assert body["totals"] == [{"year": 2018, "services": 10}, {"year": 2019, "services": 5}]
    assert body["rows"][0] == {"year": 2018, "kecamatan_code": "350921",
                               "kecamatan": "Sumbersari", "services": 7}  # fmt: skip
    assert as_csv(report).splitlines()[:2] == [
        "year,kecamatan_code,kecamatan,services",
        "2018,350921,Sumbersari,7",
    ]
