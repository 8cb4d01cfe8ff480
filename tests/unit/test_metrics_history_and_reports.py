"""The department's history CSV and the report's JSON and CSV shapes."""

from pathlib import Path

from services.metrics.adapters.chart import LABELS, render
from services.metrics.domain.history import UNKNOWN, HistoryRow, parse
from services.metrics.domain.reports import GroupBy, Report, ReportRow, as_csv, as_json

HEADER = "year,service_type,venue_type,kecamatan_code,count\n"
EXAMPLE = Path(__file__).parents[2] / "examples" / "metrics_history.csv"


def test_the_example_history_is_the_two_published_totals_and_nothing_more() -> None:
    with EXAMPLE.open(encoding="utf-8") as f:
        parsed = parse(f)
    assert parsed.errors == []
    assert parsed.rows == [
        HistoryRow(2018, UNKNOWN, UNKNOWN, UNKNOWN, 5051),
        HistoryRow(2019, UNKNOWN, UNKNOWN, UNKNOWN, 16975),
    ]


def test_a_total_without_its_split_is_accepted_with_the_split_unknown() -> None:
    short = parse(["year,count\n", "2018,5051\n", "2019,16975\n"])
    explicit = parse([HEADER, "2018,unknown,unknown,unknown,5051\n",
                      "2019,unknown,unknown,unknown,16975\n"])  # fmt: skip
    assert short.errors == explicit.errors == []
    assert short.rows == explicit.rows
    assert {(r.service_type, r.venue_type, r.kecamatan_code) for r in short.rows} == {
        (UNKNOWN, UNKNOWN, UNKNOWN)
    }
    partly = parse(["year,venue_type,count\n", "2019,school,10\n", "2019,unknown,3\n"])
    assert [(r.venue_type, r.service_type) for r in partly.rows] == [
        ("school", UNKNOWN), (UNKNOWN, UNKNOWN)
    ]  # fmt: skip


def test_a_header_without_the_year_or_the_count_or_with_a_repeat_is_refused() -> None:
    for header in ("service_type,count\n", "year,venue_type\n", "year,count,count\n"):
        parsed = parse([header, "2018,5051\n"])
        assert parsed.rows == [] and parsed.errors[0].startswith("line 1:"), header


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


def test_an_unknown_split_is_reported_as_unknown_never_as_a_category() -> None:
    by_kecamatan = Report(2018, 2019, GroupBy.KECAMATAN, [ReportRow(2018, UNKNOWN, 5051)])
    assert as_json(by_kecamatan)["rows"] == [{"year": 2018, "kecamatan_code": "unknown",
                                              "kecamatan": "tidak diketahui", "services": 5051}]  # fmt: skip
    by_venue = Report(None, None, GroupBy.VENUE_TYPE, [
        ReportRow(2019, UNKNOWN, 16975), ReportRow(2027, "school", 40),
    ])  # fmt: skip
    assert as_csv(by_venue).splitlines() == [
        "year,venue_type,services", "2019,unknown,16975", "2027,school,40"
    ]  # fmt: skip
    assert LABELS[UNKNOWN].startswith("Tidak diketahui")
    assert render(by_venue).startswith(b"\x89PNG")
