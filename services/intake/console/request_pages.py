"""Request a visit: the form, a resident row more, each NIK checked as typed, and the submit."""

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import HTMLResponse, Response

from contracts.enums import AgencyType, VenueType
from contracts.jember import WIB
from ots_runtime.auth import Role
from services.intake.console.api_client import IntakeApi
from services.intake.console.session import PATH
from services.intake.console.visit_form import (
    MAX_RESIDENTS,
    nik_problem,
    renumbered,
    resident_rows,
    visit_body,
)
from services.intake.console.web import (
    Visitor,
    checked_form,
    language_of,
    redirect,
    render,
    requester,
)

router = APIRouter()


def _blank(visitor: Visitor) -> dict[str, Any]:
    today = datetime.now(WIB).date()
    agency_type = AgencyType.DISPENDUKCAPIL if visitor.operates else AgencyType.DINSOS
    return {
        "requester.agency_type": agency_type.value,
        "requester.agency_name": visitor.who.agency,
        "venue.type": VenueType.HOME.value,
        "expected_people": "1",
        "priority": "normal",
        "window.earliest": today.isoformat(),
        "window.latest": (today + timedelta(days=14)).isoformat(),
        "services": ["ktp_el_recording"],
        "idempotency_key": uuid.uuid4().hex,
    }


def _form_values(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {key: form.get(key) for key in form}
    for many in ("services", "priority_reasons"):
        values[many] = form.getlist(many)
    for i in resident_rows(form):
        values[f"residents.{i}.needs"] = form.getlist(f"residents.{i}.needs")
    return values


def _page(request: Request, visitor: Visitor, values: dict[str, Any], rows: list[int],
          errors: dict[str, str], status_code: int = 200) -> Response:  # fmt: skip
    agency_types = [t for t in AgencyType if visitor.operates or t is not AgencyType.DISPENDUKCAPIL]
    return render(
        request, "request.html", visitor, values=values, rows=rows or [0], errors=errors,
        agency_types=agency_types, status_code=status_code, max_residents=MAX_RESIDENTS,
    )  # fmt: skip


@router.get("/request")
async def request_form(
    request: Request, visitor: Annotated[Visitor, Depends(requester)]
) -> Response:
    return _page(request, visitor, _blank(visitor), [0], {})


@router.get("/request/resident")
async def resident_row(
    request: Request, visitor: Annotated[Visitor, Depends(requester)], index: int = 0
) -> Response:
    """One more resident row, appended by htmx."""
    if not 0 <= index < MAX_RESIDENTS:
        return HTMLResponse("", status_code=422)
    return render(request, "resident_row.html", visitor, i=index, values={}, errors={},
                  oob=True, max_residents=MAX_RESIDENTS)  # fmt: skip


@router.post("/request/nik")
async def check_nik(
    request: Request, visitor: Annotated[Visitor, Depends(requester)], index: int = 0
) -> Response:
    """What intake's rules say of one NIK as typed: the text for the field's error slot."""
    form = await checked_form(request, visitor)
    nik = str(form.get(f"residents.{index}.nik") or "").strip()
    problem = nik_problem(nik, form, datetime.now(WIB).date(), language_of(request))
    return render(request, "field_error.html", visitor, message=problem or "")


@router.post("/request")
async def submit(request: Request, visitor: Annotated[Visitor, Depends(requester)]) -> Response:
    form = await checked_form(request, visitor)
    body = visit_body(form, visitor.who.agency)
    key = str(form.get("idempotency_key") or "")[:200]
    answer = await IntakeApi(request, visitor).call(
        "POST", "/visits", json=body, headers={"Idempotency-Key": key} if key else None
    )
    if answer.ok:
        return redirect(request, f"{PATH}/visits/{answer.body['visit_id']}")
    errors = renumbered(answer.field_errors(language_of(request)), form)
    if answer.status == 409 and "field" not in answer.body:
        detail = str(answer.body.get("detail", ""))
        errors.setdefault(
            "residents", language_of(request).problem(answer.body.get("code"), answer.body, detail)
        )
    values = _form_values(form) | {"idempotency_key": uuid.uuid4().hex}  # nothing was kept
    if visitor.who.role is Role.AGENCY:
        values["requester.agency_name"] = visitor.who.agency
    return _page(request, visitor, values, resident_rows(form), errors, answer.status)
