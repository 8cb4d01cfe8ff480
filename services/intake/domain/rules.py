"""What a new visit request must satisfy before intake accepts it. Pure: no I/O, no clock.

Each problem names its field as a dotted path into the request body: `residents.2.nik`."""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from contracts.enums import Priority, ServiceType, VenueType
from contracts.jember import LAT_RANGE, LON_RANGE, WIB, is_inside_jember, is_jember_kecamatan
from services.intake.domain.nik import InvalidNik, age_on, parse_nik
from services.intake.domain.request import NewVisit

SUNDAY = 6
RECORDING_MIN_AGE = 16
HOME_MAX_PEOPLE = 10
"""One household: the resident (1-3 is typical) plus relatives needing a card or certificate.
Ten bounds a household generously; a larger group is a batch venue (a village office)."""
FIXED_APPOINTMENT_VENUES = frozenset({VenueType.CAR_FREE_DAY, VenueType.COMMUNITY_EVENT})

_S = ServiceType
_INSTITUTION = frozenset({_S.KTP_EL_RECORDING, _S.KTP_EL_PRINT, _S.KK, _S.AKTA_KELAHIRAN})
SERVICES_BY_VENUE: Mapping[VenueType, frozenset[ServiceType]] = {
    VenueType.HOME: frozenset(_S) - {_S.KTP_EL_PRINT},
    VenueType.SCHOOL: frozenset({_S.KTP_EL_RECORDING, _S.KTP_EL_PRINT, _S.IKD_ACTIVATION, _S.KIA}),
    VenueType.PESANTREN: _INSTITUTION | {_S.KIA, _S.IKD_ACTIVATION},
    VenueType.PANTI_ASUHAN: _INSTITUTION | {_S.KIA, _S.IKD_ACTIVATION},
    VenueType.LAPAS: frozenset({_S.KTP_EL_RECORDING, _S.KTP_EL_PRINT, _S.KK, _S.IKD_ACTIVATION}),
    VenueType.VILLAGE_OFFICE: frozenset(_S),
    VenueType.CAR_FREE_DAY: frozenset(_S),
    VenueType.COMMUNITY_EVENT: frozenset(_S),
}
"""The services a team offers at each venue type. Homes get all but `ktp_el_print`: a home
is a 20-40 min stop routed between others, for a team with biometric and document kits;
requiring the bulky card printer would shrink the teams able to take urgent home visits, and
a card recorded there prints only after the national duplicate check anyway, so the office
prints it and delivers it. Prisons get the identity documents inmates need on release."""

Rule = Callable[[NewVisit, date], Iterator["FieldProblem"]]


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


def check_new_visit(visit: NewVisit, today: date) -> list[FieldProblem]:
    """Every problem with `visit`, rule by rule; `today` is the current date in WIB."""
    return [problem for rule in RULES for problem in rule(visit, today)]


def _residents(visit: NewVisit, today: date) -> Iterator[FieldProblem]:
    recording, first_day = ServiceType.KTP_EL_RECORDING in visit.services, visit.window.earliest
    for i, resident in enumerate(visit.residents):
        try:
            age = age_on(parse_nik(resident.nik, today).birth_date, first_day)
        except InvalidNik as error:
            yield FieldProblem(f"residents.{i}.nik", f"invalid NIK: {error.reason}")
            continue
        if recording and age < RECORDING_MIN_AGE:
            message = f"KTP-el recording starts at {RECORDING_MIN_AGE}; this resident is {age}"
            yield FieldProblem(f"residents.{i}.nik", f"{message} on {first_day} (window start)")


def _duplicate_niks(visit: NewVisit, today: date) -> Iterator[FieldProblem]:
    first_seen: dict[str, int] = {}
    for i, resident in enumerate(visit.residents):
        first = first_seen.setdefault(resident.nik, i)
        if first != i:
            message = f"the same NIK as residents.{first}.nik; list each person once"
            yield FieldProblem(f"residents.{i}.nik", message)


def _venue(visit: NewVisit, today: date) -> Iterator[FieldProblem]:
    code, lat, lon = visit.venue.kecamatan_code, visit.venue.lat, visit.venue.lon
    if not is_jember_kecamatan(code):
        message = f"{code} is not one of Jember's 31 kecamatan (350901-350931)"
        yield FieldProblem("venue.kecamatan_code", message)
    if is_inside_jember(lat, lon):
        return
    for field, value, (low, high) in (("lat", lat, LAT_RANGE), ("lon", lon, LON_RANGE)):
        if not low <= value <= high:
            message = f"{value} is outside Jember, whose {field} runs {low} to {high}"
            yield FieldProblem(f"venue.{field}", message)


def _window(visit: NewVisit, today: date) -> Iterator[FieldProblem]:
    earliest, latest = visit.window.earliest, visit.window.latest
    if earliest > latest:
        yield FieldProblem("window.earliest", f"the window starts {earliest}, after its end")
    if latest < today:
        yield FieldProblem("window.latest", f"the window ended {latest}, before today {today}")
    if earliest < today:
        yield FieldProblem("window.earliest", f"the window starts {earliest}, before today {today}")


def _services_at_venue(visit: NewVisit, today: date) -> Iterator[FieldProblem]:
    venue, allowed = visit.venue.type, SERVICES_BY_VENUE[visit.venue.type]
    offered = ", ".join(sorted(allowed))
    for i, service in enumerate(visit.services):
        if service not in allowed:
            yield FieldProblem(f"services.{i}", f"{service} is not offered at a {venue}: {offered}")


def _people(visit: NewVisit, today: date) -> Iterator[FieldProblem]:
    listed, expected = len(visit.residents), visit.expected_people
    if expected < listed:
        yield FieldProblem("expected_people", f"{expected} expected but {listed} residents listed")
    if visit.venue.type != VenueType.HOME:
        return
    if not visit.residents:
        yield FieldProblem("residents", "a home visit is for named residents: list at least one")
    if expected > HOME_MAX_PEOPLE:
        message = f"a home visit serves at most {HOME_MAX_PEOPLE}; ask for a village_office visit"
        yield FieldProblem("expected_people", message)


def _fixed_appointment(visit: NewVisit, today: date) -> Iterator[FieldProblem]:
    venue, start = visit.venue.type, visit.fixed_start
    fixed = venue in FIXED_APPOINTMENT_VENUES
    for field, value in (("fixed_start", start), ("duration_minutes", visit.duration_minutes)):
        if fixed and value is None:
            yield FieldProblem(field, f"a {venue} visit is a fixed appointment: give its {field}")
        elif not fixed and value is not None:
            yield FieldProblem(field, f"a {venue} visit has no fixed start: dispatch plans it")
    if fixed and start is not None:
        yield from _fixed_start_day(visit, start)


def _fixed_start_day(visit: NewVisit, start: datetime) -> Iterator[FieldProblem]:
    day, window = start.astimezone(WIB).date(), visit.window
    if not window.earliest <= day <= window.latest:
        message = f"starts {day} (WIB), outside the window {window.earliest} to {window.latest}"
        yield FieldProblem("fixed_start", message)
    if visit.venue.type == VenueType.CAR_FREE_DAY and day.weekday() != SUNDAY:
        yield FieldProblem("fixed_start", f"Car Free Day is on Sundays; {day} (WIB) is not one")


def _priority_reasons(visit: NewVisit, today: date) -> Iterator[FieldProblem]:
    if visit.priority != Priority.NORMAL and not visit.priority_reasons:
        message = f"priority {visit.priority} needs at least one priority reason"
        yield FieldProblem("priority_reasons", message)


def _overrides(visit: NewVisit, today: date) -> Iterator[FieldProblem]:
    """An override lets an operator record a person again; without recording it means nothing."""
    if visit.records:
        return
    for i, _ in visit.overridden:
        message = f"an override is for {ServiceType.KTP_EL_RECORDING}, which this request lacks"
        yield FieldProblem(f"residents.{i}.override", message)


PEOPLE_RULES: tuple[Rule, ...] = (
    _residents, _duplicate_niks, _people, _priority_reasons, _overrides,
)  # fmt: skip
PLACE_AND_TIME_RULES: tuple[Rule, ...] = (_venue, _services_at_venue, _window, _fixed_appointment)
RULES = PEOPLE_RULES + PLACE_AND_TIME_RULES
