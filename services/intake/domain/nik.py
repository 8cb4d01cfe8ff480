"""The 16-digit NIK, `PP KK CC DDMMYY SSSS`: parsing, masking for logs, age.

Pure: no I/O. Reasons never repeat the NIK or its birth digits, so they are safe to log.
"""

from dataclasses import dataclass
from datetime import date
from typing import Literal

from contracts.jember import JEMBER_REGENCY_PREFIX, is_jember_kecamatan

Sex = Literal["female", "male"]
NIK_LENGTH = 16
FEMALE_DAY_OFFSET = 40
PROVINCE_RANGE = (11, 94)


class InvalidNik(ValueError):
    """A NIK that cannot have been issued; `reason` says why, in an operator's words, and
    `code` with `params` the same for a client to say in its own language."""

    def __init__(self, reason: str, code: str = "nik_invalid", **params: str | int) -> None:
        super().__init__(reason)
        self.reason, self.code, self.params = reason, code, params


@dataclass(frozen=True)
class NikInfo:
    province: str
    regency: str
    kecamatan_code: str
    """Six digits: province, regency and kecamatan, e.g. `350919` (Kaliwates)."""
    birth_date: date
    sex: Sex
    serial: str


def parse_nik(nik: str, today: date) -> NikInfo:
    """Split a NIK into its parts, or raise `InvalidNik`.

    `today`, Jember's date (WIB) and not the machine's, settles the century: `YY` is `20YY`
    unless that birth date would be in the future, then `19YY`.
    """
    if not _is_sixteen_digits(nik):
        raise InvalidNik(f"a NIK is exactly {NIK_LENGTH} digits 0-9; got {len(nik)} characters",
                         "nik_length", length=len(nik))  # fmt: skip
    _check_region(nik[:6])
    birth_date, sex = _birth(nik[6:12], today)
    if nik[12:] == "0000":
        raise InvalidNik(
            "serial 0000 is never issued; the last four digits run 0001-9999", "nik_serial_zero"
        )
    return NikInfo(nik[:2], nik[2:4], nik[:6], birth_date, sex, nik[12:])


def mask_nik(nik: str) -> str:
    """`3509********0001` for logs; anything not 16 digits is masked whole, never echoed."""
    if not _is_sixteen_digits(nik):
        return "*" * NIK_LENGTH
    return nik[:4] + "*" * 8 + nik[12:]


def age_on(birth: date, day: date) -> int:
    """Completed years on `day`; a 29 February birthday counts from 1 March in common years."""
    before_birthday = (day.month, day.day) < (birth.month, birth.day)
    return day.year - birth.year - int(before_birthday)


def _is_sixteen_digits(nik: str) -> bool:
    return len(nik) == NIK_LENGTH and nik.isascii() and nik.isdigit()


def _check_region(code: str) -> None:
    """Jember's NIKs must name one of its 31 kecamatan; others need only a plausible shape."""
    if code.startswith(JEMBER_REGENCY_PREFIX):
        if not is_jember_kecamatan(code):
            raise InvalidNik(f"kecamatan code {code} is not one of Jember's 31 (350901-350931)",
                             "nik_kecamatan_not_in_jember", region=code)  # fmt: skip
        return
    low, high = PROVINCE_RANGE
    if not low <= int(code[:2]) <= high:
        raise InvalidNik(f"province code {code[:2]} does not exist; provinces run {low}-{high}",
                         "nik_province", province=code[:2], low=low, high=high)  # fmt: skip
    if code[2:4] == "00":
        raise InvalidNik(f"regency code 00 (digits 3-4, in {code}) does not exist",
                         "nik_regency_zero", region=code)  # fmt: skip
    if code[4:6] == "00":
        raise InvalidNik(f"kecamatan code 00 (digits 5-6, in {code}) does not exist",
                         "nik_kecamatan_zero", region=code)  # fmt: skip


def _birth(ddmmyy: str, today: date) -> tuple[date, Sex]:
    day, month, yy = int(ddmmyy[:2]), int(ddmmyy[2:4]), int(ddmmyy[4:])
    sex: Sex = "female" if day > FEMALE_DAY_OFFSET else "male"
    if sex == "female":
        day -= FEMALE_DAY_OFFSET
    if not 1 <= day <= 31:
        raise InvalidNik(
            "birth day (digits 7-8) must be 01-31 for a man, 41-71 for a woman", "nik_birth_day"
        )
    if not 1 <= month <= 12:
        raise InvalidNik("birth month (digits 9-10) must be 01-12", "nik_birth_month")
    return _with_century(day, month, yy, today), sex


def _with_century(day: int, month: int, yy: int, today: date) -> date:
    for century in (2000, 1900):
        try:
            born = date(century + yy, month, day)
        except ValueError:
            continue
        if born <= today:
            return born
    raise InvalidNik(
        "birth date (digits 7-12) is not a real calendar date in the past", "nik_birth_date"
    )
