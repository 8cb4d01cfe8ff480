"""Operators' teams and devices, as forms over `PUT /v1/teams/{id}` and `PUT /v1/devices/{id}`."""

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from contracts.enums import DeviceKind, Kit, Weekday
from contracts.jember import WIB
from services.intake.console.api_client import Answer, IntakeApi
from services.intake.console.session import PATH
from services.intake.console.visit_form import number_of, text_of
from services.intake.console.web import (
    Visitor,
    checked_form,
    language_of,
    operator,
    redirect,
    render,
)

router = APIRouter()


def team_body(form: FormData) -> dict[str, Any]:
    return {
        "name": text_of(form, "name"),
        "base": {
            "lat": number_of(text_of(form, "base.lat")),
            "lon": number_of(text_of(form, "base.lon")),
        },
        "kits": [str(k) for k in form.getlist("kits")],
        "shift": {"start": text_of(form, "shift.start"), "end": text_of(form, "shift.end")},
        "working_days": [str(d) for d in form.getlist("working_days")],
        "max_people_per_day": number_of(text_of(form, "max_people_per_day")),
        "active": form.get("active") == "on",
    }


def device_body(form: FormData) -> dict[str, Any]:
    expires = text_of(form, "expires_at")
    return {
        "team_id": text_of(form, "team_id"),
        "kind": text_of(form, "kind"),
        "public_key": text_of(form, "public_key"),
        "expires_at": f"{expires}T23:59:59+07:00" if len(expires) == 10 else expires,
        "revoked": form.get("revoked") == "on",
    }


async def _lists(request: Request, visitor: Visitor) -> tuple[Answer, Answer]:
    api = IntakeApi(request, visitor)
    return await api.get("/teams"), await api.get("/devices")


async def _teams_page(request: Request, visitor: Visitor, values: dict[str, Any],
                      errors: dict[str, str], status_code: int = 200) -> Response:  # fmt: skip
    teams, _ = await _lists(request, visitor)
    return render(
        request, "teams.html", visitor, teams=teams.body if teams.ok else [], values=values,
        errors=errors | ({} if teams.ok else teams.field_errors(language_of(request))), kits=list(Kit),
        weekdays=list(Weekday), status_code=status_code,
    )  # fmt: skip


@router.get("/teams")
async def teams(request: Request, visitor: Annotated[Visitor, Depends(operator)]) -> Response:
    blank = {"shift.start": "08:00", "shift.end": "15:00", "max_people_per_day": "40",
             "working_days": ["mon", "tue", "wed", "thu", "fri"], "kits": [], "active": "on"}  # fmt: skip
    return await _teams_page(request, visitor, blank, {})


@router.post("/teams")
async def save_team(request: Request, visitor: Annotated[Visitor, Depends(operator)]) -> Response:
    form = await checked_form(request, visitor)
    team_id = text_of(form, "team_id")
    answer = await IntakeApi(request, visitor).call(
        "PUT", f"/teams/{quote(team_id or ' ', safe='')}", json=team_body(form)
    )
    if answer.ok:
        return redirect(request, f"{PATH}/teams")
    values: dict[str, Any] = {key: form.get(key) for key in form}
    values |= {"kits": form.getlist("kits"), "working_days": form.getlist("working_days")}
    return await _teams_page(
        request, visitor, values, answer.field_errors(language_of(request)), answer.status
    )


async def _devices_page(request: Request, visitor: Visitor, values: dict[str, Any],
                        errors: dict[str, str], status_code: int = 200) -> Response:  # fmt: skip
    teams, devices = await _lists(request, visitor)
    return render(
        request, "devices.html", visitor, devices=devices.body if devices.ok else [],
        teams=teams.body if teams.ok else [], values=values, kinds=list(DeviceKind),
        errors=errors | ({} if devices.ok else devices.field_errors(language_of(request))), status_code=status_code,
    )  # fmt: skip


@router.get("/devices")
async def devices(request: Request, visitor: Annotated[Visitor, Depends(operator)]) -> Response:
    a_year = (datetime.now(WIB) + timedelta(days=365)).date().isoformat()
    return await _devices_page(request, visitor, {"expires_at": a_year}, {})


@router.post("/devices")
async def save_device(request: Request, visitor: Annotated[Visitor, Depends(operator)]) -> Response:
    form = await checked_form(request, visitor)
    device_id = text_of(form, "device_id")
    answer = await IntakeApi(request, visitor).call(
        "PUT", f"/devices/{quote(device_id or ' ', safe='')}", json=device_body(form)
    )
    if answer.ok:
        return redirect(request, f"{PATH}/devices")
    values: dict[str, Any] = {key: form.get(key) for key in form}
    return await _devices_page(
        request, visitor, values, answer.field_errors(language_of(request)), answer.status
    )
