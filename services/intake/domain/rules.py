"""What a new visit request must satisfy before intake accepts it. Pure: no I/O, no clock.

Each problem names its field as a dotted path into the request body: `residents.2.nik`, and
says what is wrong twice: in English (`message`) and as a stable `code` with the `params` a
client needs to say it in its own language (the console's catalogues)."""

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType

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


Params = Mapping[str, str | int | float]


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str
    code: str = ""
    params: Params = dataclasses.field(default_factory=dict, hash=False)


def _problem(field: str, message: str, code: str, **params: str | int | float) -> FieldProblem:
    return FieldProblem(field, message, code, MappingProxyType(params))


def check_new_visit(visit: NewVisit, today: date) -> list[FieldProblem]:
    """Every problem with `visit`, rule by rule; `today` is the current date in WIB."""
    return [problem for rule in RULES for problem in rule(visit, today)]


def _residents(visit: NewVisit, today: date) -> Iterator[FieldProblem]:
    recording, first_day = ServiceType.KTP_EL_RECORDING in visit.services, visit.window.earliest
    for i, resident in enumerate(visit.residents):
        try:
            age = age_on(parse_nik(resident.nik, today).birth_date, first_day)
        except InvalidNik as error:
            yield FieldProblem(f"residents.{i}.nik", f"invalid NIK: {error.reason}", error.code,
                               MappingProxyType(error.params))  # fmt: skip
            continue
        if recording and age < RECORDING_MIN_AGE:
            message = f"KTP-el recording starts at {RECORDING_MIN_AGE}; this resident is {age}"
            yield _problem(f"residents.{i}.nik", f"{message} on {first_day} (window start)",
                           "recording_too_young", min_age=RECORDING_MIN_AGE, age=age,
                           first_day=first_day.isoformat())  # fmt: skip


def _duplicate_niks(visit: NewVisit, today: date) -> Iterator[FieldProblem]:
    first_seen: dict[str, int] = {}
    for i, resident in enumerate(visit.residents):
        first = first_seen.setdefault(resident.nik, i)
        if first != i:
            message = f"the same NIK as residents.{first}.nik; list each person once"
            yield _problem(f"residents.{i}.nik", message, "duplicate_nik", first=first + 1)


def _venue(visit: NewVisit, today: date) -> Iterator[FieldProblem]:
    code, lat, lon = visit.venue.kecamatan_code, visit.venue.lat, visit.venue.lon
    if not is_jember_kecamatan(code):
        message = f"{code} is not one of Jember's 31 kecamatan (350901-350931)"
        yield _problem("venue.kecamatan_code", message, "kecamatan_not_in_jember", kecamatan=code)
    if is_inside_jember(lat, lon):
        return
    for field, value, (low, high) in (("lat", lat, LAT_RANGE), ("lon", lon, LON_RANGE)):
        if not low <= value <= high:
            message = f"{value} is outside Jember, whose {field} runs {low} to {high}"
            yield _problem(f"venue.{field}", message, "outside_jember", value=value, low=low,
                           high=high)  # fmt: skip


def _window(visit: NewVisit, today: date) -> Iterator[FieldProblem]:
    earliest, latest = visit.window.earliest, visit.window.latest
    if earliest > latest:
        yield _problem("window.earliest", f"the window starts {earliest}, after its end",
                       "window_starts_after_end", earliest=earliest.isoformat(),
                       latest=latest.isoformat())  # fmt: skip
    if latest < today:
        yield _problem("window.latest", f"the window ended {latest}, before today {today}",
                       "window_ended", latest=latest.isoformat(), today=today.isoformat())  # fmt: skip
    if earliest < today:
        yield _problem("window.earliest", f"the window starts {earliest}, before today {today}",
                       "window_starts_before_today", earliest=earliest.isoformat(),
                       today=today.isoformat())  # fmt: skip


def _services_at_venue(visit: NewVisit, today: date) -> Iterator[FieldProblem]:
    venue, allowed = visit.venue.type, SERVICES_BY_VENUE[visit.venue.type]
    offered = ", ".join(sorted(allowed))
    for i, service in enumerate(visit.services):
        if service not in allowed:
            yield _problem(f"services.{i}", f"{service} is not offered at a {venue}: {offered}",
                           "service_not_at_venue", service=service, venue=venue,
                           offered=offered)  # fmt: skip


def _people(visit: NewVisit, today: date) -> Iterator[FieldProblem]:
    listed, expected = len(visit.residents), visit.expected_people
    if expected < listed:
        yield _problem("expected_people", f"{expected} expected but {listed} residents listed",
                       "fewer_expected_than_listed", expected=expected, listed=listed)  # fmt: skip
    if visit.venue.type != VenueType.HOME:
        return
    if not visit.residents:
        yield _problem("residents", "a home visit is for named residents: list at least one",
                       "home_without_residents")  # fmt: skip
    if expected > HOME_MAX_PEOPLE:
        message = f"a home visit serves at most {HOME_MAX_PEOPLE}; ask for a village_office visit"
        yield _problem("expected_people", message, "home_too_many", most=HOME_MAX_PEOPLE)


def _fixed_appointment(visit: NewVisit, today: date) -> Iterator[FieldProblem]:
    venue, start = visit.venue.type, visit.fixed_start
    fixed = venue in FIXED_APPOINTMENT_VENUES
    for field, value in (("fixed_start", start), ("duration_minutes", visit.duration_minutes)):
        if fixed and value is None:
            yield _problem(field, f"a {venue} visit is a fixed appointment: give its {field}",
                           "fixed_appointment_needs_it", venue=venue)  # fmt: skip
        elif not fixed and value is not None:
            yield _problem(field, f"a {venue} visit has no fixed start: dispatch plans it",
                           "not_a_fixed_appointment", venue=venue)  # fmt: skip
    if fixed and start is not None:
        yield from _fixed_start_day(visit, start)


def _fixed_start_day(visit: NewVisit, start: datetime) -> Iterator[FieldProblem]:
    day, window = start.astimezone(WIB).date(), visit.window
    if not window.earliest <= day <= window.latest:
        message = f"starts {day} (WIB), outside the window {window.earliest} to {window.latest}"
        yield _problem("fixed_start", message, "fixed_start_outside_window", day=day.isoformat(),
                       earliest=window.earliest.isoformat(), latest=window.latest.isoformat())  # fmt: skip
    if visit.venue.type == VenueType.CAR_FREE_DAY and day.weekday() != SUNDAY:
        yield _problem("fixed_start", f"Car Free Day is on Sundays; {day} (WIB) is not one",
                       "car_free_day_not_sunday", day=day.isoformat())  # fmt: skip


def _priority_reasons(visit: NewVisit, today: date) -> Iterator[FieldProblem]:
    if visit.priority != Priority.NORMAL and not visit.priority_reasons:
        message = f"priority {visit.priority} needs at least one priority reason"
        yield _problem("priority_reasons", message, "priority_needs_reason",
                       priority=visit.priority)  # fmt: skip


def _overrides(visit: NewVisit, today: date) -> Iterator[FieldProblem]:
    """An override lets an operator record a person again; without recording it means nothing."""
    if visit.records:
        return
    for i, _ in visit.overridden:
        message = f"an override is for {ServiceType.KTP_EL_RECORDING}, which this request lacks"
        yield _problem(f"residents.{i}.override", message, "override_without_recording")


PEOPLE_RULES: tuple[Rule, ...] = (
    _residents, _duplicate_niks, _people, _priority_reasons, _overrides,
)  # fmt: skip
PLACE_AND_TIME_RULES: tuple[Rule, ...] = (_venue, _services_at_venue, _window, _fixed_appointment)
RULES = PEOPLE_RULES + PLACE_AND_TIME_RULES
