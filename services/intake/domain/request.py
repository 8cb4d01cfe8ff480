"""A visit request as an operator submits it: the contract's fields less the assigned id."""

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from contracts.enums import Priority, PriorityReason, ServiceType
from contracts.events import KecamatanCode, Nik, Requester, Resident, Venue, Window
from contracts.jember import LAT_RANGE, LON_RANGE, kecamatan_names
from services.intake.domain.nik import FEMALE_DAY_OFFSET, PROVINCE_RANGE
from services.intake.domain.text import FreeText, Name


def _one_of(values: list[str]) -> str:
    return "(?:" + "|".join(values) + ")"


def _two_digits(low: int, high: int, but: tuple[int, ...] = ()) -> str:
    return _one_of([f"{n:02d}" for n in range(low, high + 1) if n not in but])


def nik_pattern() -> str:
    """What `parse_nik` accepts, as a JSON Schema pattern, so the document says it: a Jember
    kecamatan (or another regency's plausible region), a real birth date (day + 40 for a
    woman; 29 February only in years divisible by four), a serial other than 0000."""
    jember = _one_of(sorted(kecamatan_names()))
    province, jember_province = _two_digits(*PROVINCE_RANGE, but=(35,)), "35"
    elsewhere = _one_of([
        province + _two_digits(1, 99) + _two_digits(1, 99),
        jember_province + _two_digits(1, 99, but=(9,)) + _two_digits(1, 99),
    ])  # fmt: skip
    any_month, long_months = _two_digits(1, 12), _one_of(["01", "03", "05", "07", "08", "10", "12"])
    not_february, leap_year = _two_digits(1, 12, but=(2,)), "(?:[02468][048]|[13579][26])"
    births = []
    for offset in (0, FEMALE_DAY_OFFSET):
        births += [
            _two_digits(1 + offset, 28 + offset) + any_month + "[0-9]{2}",
            f"{29 + offset}" + not_february + "[0-9]{2}",
            f"{29 + offset}02" + leap_year,
            f"{30 + offset}" + not_february + "[0-9]{2}",
            f"{31 + offset}" + long_months + "[0-9]{2}",
        ]
    serial = "(?:000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
    return f"^{_one_of([jember, elsewhere])}{_one_of(births)}{serial}$"


# Numbers and booleans are strict (no "3" for 3, no true for 1). The document carries the
# domain's constraints so that a request it calls valid is one intake accepts; intake's rules
# (domain/rules.py) still check them, to name what is wrong in words.
NIK_PATTERN = nik_pattern()
KECAMATAN_PATTERN = f"^{_one_of(sorted(kecamatan_names()))}$"


class OverrideReason(StrEnum):
    """Why an operator asks to record again a person who already has a KTP-el recording."""

    RERECORDING_REQUESTED_BY_CENTER = "rerecording_requested_by_center"


class RecordingOverride(BaseModel):
    """An operator's leave to record this resident again; kept in the visit's history."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: OverrideReason
    note: FreeText = ""


class NewRequester(Requester):
    """The requester as the body names it; an agency token's own agency replaces the name."""

    agency_name: Name


class NewVenue(Venue):
    name: Name
    address: FreeText = ""
    kecamatan_code: KecamatanCode = Field(
        description="One of Jember's 31 kecamatan, 350901-350931.",
        json_schema_extra={"pattern": KECAMATAN_PATTERN},
    )
    lat: float = Field(
        ge=-90, le=90, strict=True, description="Inside Jember.",
        json_schema_extra={"minimum": LAT_RANGE[0], "maximum": LAT_RANGE[1]},
    )  # fmt: skip
    lon: float = Field(
        ge=-180, le=180, strict=True, description="Inside Jember.",
        json_schema_extra={"minimum": LON_RANGE[0], "maximum": LON_RANGE[1]},
    )  # fmt: skip


class NewResident(Resident):
    """A resident as requested: the contract's, plus an optional override (intake only: the
    override never leaves intake in `ots.visit.requested`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    nik: Nik = Field(
        description=(
            "16 digits `PP KK CC DDMMYY SSSS`: region, birth date (day + 40 for a woman), "
            "serial. Someone to be recorded must be 16 on the window's first day (422)."
        ),
        json_schema_extra={"pattern": NIK_PATTERN},
    )
    name: Name
    override: RecordingOverride | None = None


# The README's example (examples/home_visit.json), shown in the OpenAPI document.
HOME_VISIT_EXAMPLE: JsonDict = {
    "requester": {"agency_type": "dinsos", "agency_name": "Dinas Sosial Jember"},
    "venue": {"type": "home", "name": "Rumah Ibu Siti Aminah",
              "address": "Jl. Kenanga 3, Sumbersari", "kecamatan_code": "350921",
              "lat": -8.165, "lon": 113.717},
    "services": ["ktp_el_recording", "kk"],
    "residents": [{"nik": "3509215205600003", "name": "Siti Aminah",
                   "needs": ["bedridden", "cannot_sign"]}],
    "expected_people": 2,
    "priority": "high",
    "priority_reasons": ["bedridden", "elderly"],
    "window": {"earliest": "2027-01-04", "latest": "2027-01-15"},
}  # fmt: skip


class NewVisit(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_extra={"examples": [HOME_VISIT_EXAMPLE]}
    )

    requester: NewRequester
    venue: NewVenue
    services: list[ServiceType] = Field(min_length=1, max_length=8)
    residents: list[NewResident] = Field(default_factory=list, max_length=500)
    expected_people: int = Field(ge=1, le=2000, strict=True)
    priority: Priority = Priority.NORMAL
    priority_reasons: list[PriorityReason] = Field(default_factory=list, max_length=7)
    window: Window
    fixed_start: AwareDatetime | None = None
    duration_minutes: int | None = Field(default=None, ge=15, le=24 * 60, strict=True)

    @property
    def records(self) -> bool:
        """Whether this request asks for KTP-el recording, the one service done once a life."""
        return ServiceType.KTP_EL_RECORDING in self.services

    @property
    def overridden(self) -> list[tuple[int, NewResident]]:
        return [(i, r) for i, r in enumerate(self.residents) if r.override is not None]
