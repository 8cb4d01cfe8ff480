"""The request form, field by field, as the JSON body of `POST /v1/visits`. Inputs are named
after the body's fields (`venue.lat`, `residents.0.nik`) so the API's 422/409 answers land
next to the field they name. Shaping only: every rule is the API's."""

from datetime import date
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from contracts.enums import ServiceType, VenueType
from contracts.events import Window
from services.intake.console.i18n import Language
from services.intake.domain.nik import InvalidNik, parse_nik
from services.intake.domain.request import NewVisit
from services.intake.domain.rules import check_new_visit

MAX_RESIDENTS = 20
"""Rows the form offers; larger groups are batch venues whose people are counted, not named."""


def text_of(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def number_of(text: str) -> float | int | str:
    """A number when the text is one; otherwise the text, for the API to refuse by name."""
    for kind in (int, float):
        try:
            return kind(text.replace(",", "."))
        except ValueError:
            continue
    return text


def resident_rows(form: FormData) -> list[int]:
    """The indexes of the resident rows the form carries, filled in or not."""
    rows = {
        int(key.split(".")[1])
        for key in form
        if key.startswith("residents.") and key.split(".")[1].isdigit()
    }
    return sorted(i for i in rows if i < MAX_RESIDENTS)


def visit_body(form: FormData, agency_name: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "requester": {
            "agency_type": text_of(form, "requester.agency_type"),
            "agency_name": text_of(form, "requester.agency_name") or agency_name,
        },
        "venue": {
            "type": text_of(form, "venue.type"),
            "name": text_of(form, "venue.name"),
            "address": text_of(form, "venue.address"),
            "kecamatan_code": text_of(form, "venue.kecamatan_code"),
            "lat": number_of(text_of(form, "venue.lat")),
            "lon": number_of(text_of(form, "venue.lon")),
        },
        "services": [str(s) for s in form.getlist("services")],
        "residents": [],
        "expected_people": number_of(text_of(form, "expected_people")),
        "priority": text_of(form, "priority") or "normal",
        "priority_reasons": [str(r) for r in form.getlist("priority_reasons")],
        "window": {
            "earliest": text_of(form, "window.earliest"),
            "latest": text_of(form, "window.latest"),
        },
    }
    for i in resident_rows(form):
        nik, name = text_of(form, f"residents.{i}.nik"), text_of(form, f"residents.{i}.name")
        if nik or name:
            needs = [str(n) for n in form.getlist(f"residents.{i}.needs")]
            body["residents"].append({"nik": nik, "name": name, "needs": needs})
    if fixed_start := text_of(form, "fixed_start"):
        body["fixed_start"] = f"{fixed_start}:00+07:00" if len(fixed_start) == 16 else fixed_start
    if duration := text_of(form, "duration_minutes"):
        body["duration_minutes"] = number_of(duration)
    return body


def renumbered(errors: dict[str, str], form: FormData) -> dict[str, str]:
    """The API numbers residents as sent (blank rows left out); the form by its rows."""
    filled = [
        i
        for i in resident_rows(form)
        if text_of(form, f"residents.{i}.nik") or text_of(form, f"residents.{i}.name")
    ]
    out: dict[str, str] = {}
    for field, message in errors.items():
        parts = field.split(".")
        if parts[0] == "residents" and len(parts) > 1 and parts[1].isdigit():
            sent = int(parts[1])
            if sent < len(filled):
                parts[1] = str(filled[sent])
        out[".".join(parts)] = message
    return out


def nik_problem(nik: str, form: FormData, today: date, lang: Language) -> str | None:
    """What intake's own rules say of one NIK as typed, in the context the form gives so far
    (services and window): the rules run on a request holding only this resident. Said in
    `lang` by the problem's code, as the API's answer is after a submit."""
    if not nik:
        return None
    window = _window(form, today)
    services = [s for s in form.getlist("services") if s in ServiceType.__members__.values()]
    probe: dict[str, Any] = {
        "requester": {"agency_type": "dinsos", "agency_name": "probe"},
        "venue": {"type": VenueType.VILLAGE_OFFICE, "name": "probe", "kecamatan_code": "350919",
                  "lat": -8.17, "lon": 113.70},
        "services": services or [ServiceType.KTP_EL_RECORDING],
        "residents": [{"nik": nik, "name": "probe"}],
        "expected_people": 1,
        "window": window.model_dump(mode="json"),
    }  # fmt: skip
    try:
        visit = NewVisit.model_validate(probe)
    except ValidationError as error:
        try:
            parse_nik(nik, today)
        except InvalidNik as invalid:
            return lang.problem(invalid.code, invalid.params, f"invalid NIK: {invalid.reason}")
        return " ".join(lang.problem(e["type"], e.get("ctx"), e["msg"]) for e in error.errors())
    for problem in check_new_visit(visit, today):
        if problem.field == "residents.0.nik":
            return lang.problem(problem.code, problem.params, problem.message)
    return None


def _window(form: FormData, today: date) -> Window:
    try:
        earliest = date.fromisoformat(text_of(form, "window.earliest"))
    except ValueError:
        earliest = today
    return Window(earliest=earliest, latest=max(earliest, today))
