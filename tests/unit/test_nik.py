"""The NIK `PP KK CC DDMMYY SSSS`: parsing, masking and age."""

from datetime import date

import pytest

from services.intake.domain.nik import InvalidNik, NikInfo, age_on, mask_nik, parse_nik

TODAY = date(2026, 3, 4)


def refusal(nik: str, today: date = TODAY) -> str:
    with pytest.raises(InvalidNik) as caught:
        parse_nik(nik, today)
    return caught.value.reason


def test_a_man_from_kaliwates_born_12_may_1990_is_read_part_by_part() -> None:
    assert parse_nik("3509191205900001", TODAY) == NikInfo(
        province="35",
        regency="09",
        kecamatan_code="350919",
        birth_date=date(1990, 5, 12),
        sex="male",
        serial="0001",
    )


def test_a_woman_born_on_the_5th_has_day_45() -> None:
    info = parse_nik("3509214501050002", TODAY)
    assert (info.sex, info.birth_date) == ("female", date(2005, 1, 5))


def test_a_woman_born_on_the_31st_has_day_71() -> None:
    assert parse_nik("3509217101050002", TODAY).birth_date == date(2005, 1, 31)


def test_a_nik_of_15_digits_is_refused() -> None:
    assert "16 digits" in refusal("350919120590001")


def test_a_nik_with_a_letter_is_refused() -> None:
    assert "16 digits" in refusal("35091912059O0001")


def test_a_nik_with_non_ascii_digits_is_refused() -> None:
    assert "16 digits" in refusal("350919120590000١")


def test_a_jember_nik_must_name_one_of_its_31_kecamatan() -> None:
    assert "not one of Jember's 31" in refusal("3509321205900001")


def test_a_nik_from_surabaya_is_accepted_for_someone_who_moved_in() -> None:
    assert parse_nik("3578011205900001", TODAY).kecamatan_code == "357801"


def test_province_10_does_not_exist() -> None:
    assert "province code 10" in refusal("1001011205900001")


def test_province_95_is_beyond_the_accepted_range() -> None:
    assert "province code 95" in refusal("9501011205900001")


def test_regency_00_does_not_exist() -> None:
    assert "regency code 00" in refusal("3500011205900001")


def test_kecamatan_00_outside_jember_does_not_exist() -> None:
    assert "kecamatan code 00" in refusal("3578001205900001")


@pytest.mark.parametrize("day", ["00", "32", "40", "72"])
def test_a_birth_day_outside_1_31_and_41_71_is_refused(day: str) -> None:
    assert "birth day" in refusal(f"350919{day}05900001")


def test_a_birth_month_of_13_is_refused() -> None:
    assert "birth month" in refusal("3509191213900001")


def test_31_february_is_not_a_real_date() -> None:
    assert "not a real calendar date" in refusal("3509193102990001")


def test_29_february_of_a_common_year_is_not_a_real_date() -> None:
    assert "not a real calendar date" in refusal("3509192902010001")


def test_29_february_2000_is_a_real_date() -> None:
    assert parse_nik("3509192902000001", TODAY).birth_date == date(2000, 2, 29)


def test_a_two_digit_year_not_in_the_future_is_this_century() -> None:
    assert parse_nik("3509190101100001", TODAY).birth_date == date(2010, 1, 1)


def test_a_two_digit_year_in_the_future_is_last_century() -> None:
    assert parse_nik("3509190101300001", TODAY).birth_date == date(1930, 1, 1)


def test_a_birthday_later_this_year_belongs_to_last_century() -> None:
    assert parse_nik("3509191506260001", TODAY).birth_date == date(1926, 6, 15)


def test_someone_born_today_is_this_century() -> None:
    assert parse_nik("3509190403260001", TODAY).birth_date == TODAY


def test_serial_0000_is_never_issued() -> None:
    assert "serial 0000" in refusal("3509191205900000")


def test_a_refusal_never_repeats_the_birth_digits() -> None:
    assert "3102" not in refusal("3509193102990001")


def test_a_nik_is_masked_to_its_region_and_serial() -> None:
    assert mask_nik("3509191205900001") == "3509********0001"


def test_anything_but_16_digits_is_masked_whole() -> None:
    assert mask_nik("35091912059000") == "*" * 16


def test_age_is_one_less_the_day_before_the_birthday() -> None:
    assert age_on(date(2010, 3, 9), date(2026, 3, 8)) == 15


def test_age_turns_on_the_birthday() -> None:
    assert age_on(date(2010, 3, 9), date(2026, 3, 9)) == 16


def test_a_leap_day_baby_turns_a_year_older_on_1_march_in_common_years() -> None:
    born = date(2008, 2, 29)
    assert (age_on(born, date(2025, 2, 28)), age_on(born, date(2025, 3, 1))) == (16, 17)
