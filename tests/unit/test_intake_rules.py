"""The rules a new visit request must satisfy: one test per rule, every problem named."""

from datetime import date
from typing import Any

import pytest

from contracts.enums import ServiceType, VenueType
from services.intake.domain.request import NewVisit
from services.intake.domain.rules import SERVICES_BY_VENUE, FieldProblem, check_new_visit

TODAY = date(2026, 3, 4)  # a Wednesday
WINDOW = {"earliest": "2026-03-09", "latest": "2026-03-20"}
SUNDAY_MORNING = "2026-03-15T06:00:00+07:00"
MAN_BORN_1990 = "3509191205900001"
WOMAN_BORN_1985 = "3509214501850002"
BOY_BORN_JUNE_2010 = "3509200106100003"
GIRL_TURNING_16_ON_9_MARCH = "3509204903100004"


def a_venue(**overrides: Any) -> dict[str, Any]:
    venue = {
        "type": "home",
        "name": "Rumah Bu Sri",
        "address": "Jl. Gajah Mada 12, Kaliwates",
        "kecamatan_code": "350919",
        "lat": -8.1786,
        "lon": 113.6859,
    }
    return venue | overrides


def a_resident(nik: str = MAN_BORN_1990, **overrides: Any) -> dict[str, Any]:
    return {"nik": nik, "name": "Sutrisno", "needs": ["wheelchair"]} | overrides


def a_visit(**overrides: Any) -> NewVisit:
    body = {
        "requester": {"agency_type": "dinsos", "agency_name": "Dinas Sosial Jember"},
        "venue": a_venue(),
        "services": ["ktp_el_recording"],
        "residents": [a_resident()],
        "expected_people": 1,
        "window": WINDOW,
    }
    return NewVisit.model_validate(body | overrides)


def a_car_free_day(**overrides: Any) -> NewVisit:
    venue = a_venue(type="car_free_day", name="Alun-alun Jember", lat=-8.1687, lon=113.7025)
    body = {"venue": venue, "residents": [], "expected_people": 200}
    return a_visit(**body | {"fixed_start": SUNDAY_MORNING, "duration_minutes": 180} | overrides)


def a_school_visit(**overrides: Any) -> NewVisit:
    venue = a_venue(type="school", name="SMAN 1 Jember", lat=-8.1640, lon=113.7110)
    return a_visit(venue=venue, residents=[], expected_people=40, **overrides)


def problems(visit: NewVisit) -> list[FieldProblem]:
    return check_new_visit(visit, TODAY)


def only_problem(visit: NewVisit) -> FieldProblem:
    found = problems(visit)
    assert len(found) == 1, found
    return found[0]


def test_a_valid_home_visit_has_no_problems() -> None:
    assert problems(a_visit()) == []


def test_a_valid_car_free_day_has_no_problems() -> None:
    assert problems(a_car_free_day()) == []


def test_an_invalid_nik_is_named_by_its_position() -> None:
    residents = [a_resident(), a_resident(WOMAN_BORN_1985), a_resident("3509191205900000")]
    problem = only_problem(a_visit(residents=residents, expected_people=3))
    assert problem.field == "residents.2.nik"
    assert "serial 0000" in problem.message


def test_a_request_for_a_15_year_old_recording_is_refused() -> None:
    problem = only_problem(a_visit(residents=[a_resident(BOY_BORN_JUNE_2010)]))
    assert problem.field == "residents.0.nik"
    assert "starts at 16" in problem.message and "is 15" in problem.message


def test_a_resident_turning_16_on_the_first_day_may_be_recorded() -> None:
    assert problems(a_visit(residents=[a_resident(GIRL_TURNING_16_ON_9_MARCH)])) == []


def test_a_15_year_old_may_get_a_child_id_card_without_recording() -> None:
    assert problems(a_visit(residents=[a_resident(BOY_BORN_JUNE_2010)], services=["kia"])) == []


def test_a_venue_in_a_kecamatan_outside_jember_is_refused() -> None:
    problem = only_problem(a_visit(venue=a_venue(kecamatan_code="357801")))
    assert problem.field == "venue.kecamatan_code"
    assert "not one of Jember's 31" in problem.message


def test_a_venue_north_of_the_equator_is_refused() -> None:
    problem = only_problem(a_visit(venue=a_venue(lat=8.1786)))
    assert problem.field == "venue.lat"
    assert "outside Jember" in problem.message


def test_a_venue_east_of_jember_is_refused() -> None:
    assert only_problem(a_visit(venue=a_venue(lon=114.3690))).field == "venue.lon"


def test_a_window_that_ends_before_it_starts_is_refused() -> None:
    problem = only_problem(a_visit(window={"earliest": "2026-03-20", "latest": "2026-03-09"}))
    assert problem.field == "window.earliest"
    assert "after its end" in problem.message


def test_a_window_that_has_already_ended_is_refused() -> None:
    found = problems(a_visit(window={"earliest": "2026-02-02", "latest": "2026-02-27"}))
    assert [p.field for p in found] == ["window.latest", "window.earliest"]
    assert "before today" in found[0].message


def test_a_window_that_started_yesterday_is_refused() -> None:
    problem = only_problem(a_visit(window={"earliest": "2026-03-03", "latest": "2026-03-20"}))
    assert problem.field == "window.earliest"
    assert "before today" in problem.message


def test_a_window_starting_today_is_fine() -> None:
    assert problems(a_visit(window={"earliest": "2026-03-04", "latest": "2026-03-04"})) == []


def test_card_printing_at_home_is_refused() -> None:
    problem = only_problem(a_visit(services=["ktp_el_recording", "ktp_el_print"]))
    assert problem.field == "services.1"
    assert "ktp_el_print is not offered at a home" in problem.message


def test_a_death_certificate_at_a_school_is_refused() -> None:
    assert only_problem(a_school_visit(services=["akta_kematian"])).field == "services.0"


def test_every_venue_type_has_its_services_listed() -> None:
    assert set(SERVICES_BY_VENUE) == set(VenueType)
    assert SERVICES_BY_VENUE[VenueType.VILLAGE_OFFICE] == set(ServiceType)


def test_fewer_expected_people_than_residents_listed_is_refused() -> None:
    residents = [a_resident(), a_resident(WOMAN_BORN_1985)]
    problem = only_problem(a_visit(residents=residents, expected_people=1))
    assert problem.field == "expected_people"
    assert "2 residents listed" in problem.message


def test_a_home_visit_without_a_named_resident_is_refused() -> None:
    problem = only_problem(a_visit(residents=[]))
    assert problem.field == "residents"
    assert "at least one" in problem.message


def test_a_home_visit_for_11_people_is_refused() -> None:
    problem = only_problem(a_visit(expected_people=11))
    assert problem.field == "expected_people"
    assert "at most 10" in problem.message


def test_a_car_free_day_without_a_fixed_start_is_refused() -> None:
    problem = only_problem(a_car_free_day(fixed_start=None))
    assert problem.field == "fixed_start"
    assert "fixed appointment" in problem.message


def test_a_community_event_without_a_duration_is_refused() -> None:
    venue = a_venue(type="community_event", name="Festival Lansia")
    problem = only_problem(a_car_free_day(venue=venue, duration_minutes=None))
    assert problem.field == "duration_minutes"


def test_a_fixed_start_outside_the_window_is_refused() -> None:
    problem = only_problem(a_car_free_day(fixed_start="2026-03-22T06:00:00+07:00"))
    assert problem.field == "fixed_start"
    assert "outside the window" in problem.message


def test_a_fixed_start_is_dated_in_jakarta_time() -> None:
    assert problems(a_car_free_day(fixed_start="2026-03-14T23:00:00+00:00")) == []


def test_a_car_free_day_on_a_saturday_is_refused() -> None:
    problem = only_problem(a_car_free_day(fixed_start="2026-03-14T06:00:00+07:00"))
    assert problem.field == "fixed_start"
    assert "Sundays" in problem.message


def test_a_school_visit_with_a_fixed_start_is_refused() -> None:
    problem = only_problem(a_school_visit(fixed_start="2026-03-10T08:00:00+07:00"))
    assert problem.field == "fixed_start"
    assert "dispatch plans it" in problem.message


def test_a_home_visit_with_a_duration_is_refused() -> None:
    assert only_problem(a_visit(duration_minutes=30)).field == "duration_minutes"


def test_the_same_nik_twice_is_named_at_its_second_occurrence() -> None:
    residents = [a_resident(), a_resident(WOMAN_BORN_1985), a_resident(name="Sutrisno bin Karto")]
    problem = only_problem(a_visit(residents=residents, expected_people=3))
    assert problem.field == "residents.2.nik"
    assert "residents.0.nik" in problem.message


@pytest.mark.parametrize("priority", ["urgent", "high"])
def test_a_raised_priority_without_a_reason_is_refused(priority: str) -> None:
    problem = only_problem(a_visit(priority=priority))
    assert problem.field == "priority_reasons"
    assert f"priority {priority}" in problem.message


def test_an_urgent_request_with_a_reason_is_fine() -> None:
    assert problems(a_visit(priority="urgent", priority_reasons=["bedridden"])) == []


def test_every_problem_is_returned_not_just_the_first() -> None:
    visit = a_visit(
        residents=[a_resident("3509991205900001"), a_resident(BOY_BORN_JUNE_2010)],
        venue=a_venue(kecamatan_code="357801", lon=112.75),
        services=["ktp_el_recording", "ktp_el_print"],
        priority="urgent",
        fixed_start=SUNDAY_MORNING,
    )
    assert [p.field for p in problems(visit)] == [
        "residents.0.nik",
        "residents.1.nik",
        "expected_people",
        "priority_reasons",
        "venue.kecamatan_code",
        "venue.lon",
        "services.1",
        "fixed_start",
    ]


RERECORD = {"reason": "rerecording_requested_by_center", "note": "pusat minta rekam ulang"}


def test_an_override_on_a_recording_request_is_fine() -> None:
    assert problems(a_visit(residents=[a_resident(override=RERECORD)])) == []


def test_an_override_without_recording_is_named_by_its_resident() -> None:
    visit = a_visit(services=["kk"], residents=[a_resident(override=RERECORD)])
    problem = only_problem(visit)
    assert problem.field == "residents.0.override"
    assert "ktp_el_recording" in problem.message


def test_an_override_names_a_known_reason() -> None:
    with pytest.raises(ValueError, match="reason"):
        a_visit(residents=[a_resident(override={"reason": "because"})])
