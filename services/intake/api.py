"""The operators' HTTP API: visits, teams and devices, behind role-scoped bearer tokens."""

from datetime import UTC, date, datetime
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from contracts.enums import AgencyType, VenueType, VisitStatus
from contracts.events import Id
from contracts.jember import WIB
from ots_runtime.auth import Principal, Role, Who, authenticate, require
from ots_runtime.db import in_transaction
from ots_runtime.http import (
    UNAUTHORIZED,
    FieldError,
    IsoDate,
    Problem,
    field_problem,
    problem_responses,
    validation_problem,
)
from services.intake.domain.request import NewRequester, NewVisit
from services.intake.domain.rules import check_new_visit
from services.intake.domain.text import FreeText
from services.intake.fleet import DeviceBody, TeamBody, list_rows, put_device, put_team
from services.intake.recorded import OPENAPI_RESPONSES, already_recorded
from services.intake.visit_writer import VisitWriter, visit_item
from services.intake.visits import (
    already_open,
    cancel_visit,
    close_visit,
    decode_cursor,
    encode_cursor,
    summary,
    visible_clause,
    visit_view,
)

# One token system for every service (ots_runtime/auth.py); re-exported for intake's modules.
__all__ = ["Who", "authenticate", "require", "router"]
router = APIRouter(prefix="/v1")


def pool_of(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.runtime.pool
    return pool


class CancelBody(BaseModel):
    reason: Annotated[FreeText, Field(min_length=1)]


# Path ids are checked as the bodies' ids are (no dot, no control character): 422, never a
# lookup of something no id can be.
VisitId = Annotated[Id, Path(description="A visit id as POST /v1/visits returned it.")]
FleetId = Annotated[Id, Path(description="Letters, digits, `_`, `:` and `-`; at most 64.")]


def bind_requester(visit: NewVisit, who: Principal) -> NewVisit:
    """An agency requests as itself: its token's agency is the requester's name, whatever the
    body says, and it may not pass for the department. Operators name any requester."""
    if who.role is not Role.AGENCY:
        return visit
    if visit.requester.agency_type is AgencyType.DISPENDUKCAPIL:
        raise Problem(403, "Forbidden", "an agency token may not request as dispendukcapil")
    requester = NewRequester(agency_type=visit.requester.agency_type, agency_name=who.agency)
    return visit.model_copy(update={"requester": requester})


FIRST_LISTABLE_DAY = date(1, 1, 2)
FORBIDDEN = "This token's role may not do this."
NO_VISIT = "No such visit, or not one this token's agency requested."
CREATE_VISIT = problem_responses({
    401: UNAUTHORIZED,
    422: "A field is malformed, or the request breaks a rule of the domain that the schema "
         "cannot say (domain.md): the window must not have started before today (WIB) nor end "
         "before it starts; someone to be recorded must be 16 on the window's first day; each "
         "NIK is listed once; the services must be offered at the venue; a home visit names "
         "1-10 people; `expected_people` covers the residents listed; a car-free-day or "
         "community-event visit has a `fixed_start` (inside the window; a Sunday for car free "
         "day) and `duration_minutes`, other venues neither; a priority above normal gives "
         "its reasons; an override comes with `ktp_el_recording`. `errors` names each field.",
    503: "A concurrent request got in the way: retry with the same Idempotency-Key.",
}, also={**OPENAPI_RESPONSES, 201: {
    "description": "Accepted: the new visit's id, to read, cancel or close it by.",
    "content": {"application/json": {"schema": {
        "type": "object", "required": ["visit_id", "status"],
        "properties": {"visit_id": {"type": "string"}, "status": {"const": "requested"}},
    }}},
    "links": {
        name: {"operationRef": f"#/paths/~1v1~1visits~1{{visit_id}}{path}",
               "parameters": {"visit_id": "$response.body#/visit_id"}}
        for name, path in (("read", "/get"), ("cancel", "~1cancel/post"), ("close", "~1close/post"))
    },
}})  # fmt: skip
READ_VISIT = problem_responses({401: UNAUTHORIZED, 404: NO_VISIT})
LIST_VISITS = problem_responses({
    401: UNAUTHORIZED, 422: "A query parameter is malformed, or `cursor` is not one this API issued.",
})  # fmt: skip
CHANGE_VISIT = problem_responses({
    401: UNAUTHORIZED, 403: FORBIDDEN, 404: NO_VISIT,
    409: "The visit's status does not allow it (already completed, cancelled, ...).",
})  # fmt: skip
PUT_TEAM = problem_responses({
    401: UNAUTHORIZED, 403: FORBIDDEN,
    422: "A field is malformed, or the shift does not end after it starts.",
})  # fmt: skip
PUT_DEVICE = problem_responses({
    401: UNAUTHORIZED, 403: FORBIDDEN,
    422: "A field is malformed; `expires_at` is past and the device not revoked; or "
         "`team_id` names no team (PUT /v1/teams/{team_id} first).",
})  # fmt: skip
OPERATORS_ONLY = problem_responses({401: UNAUTHORIZED, 403: FORBIDDEN})


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "The same key and body return the first answer; another body is 409.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
}  # fmt: skip


# The hottest route reads its two headers itself: FastAPI's dependency solving cost more than
# everything else intake adds to a request (bench/intake.py); the docs still show both.
@router.post(
    "/visits", status_code=201, tags=["visits"],
    openapi_extra={"security": [{"HTTPBearer": []}], "parameters": [IDEMPOTENCY_KEY]},
    responses=CREATE_VISIT,
)  # fmt: skip
async def create_visit(visit: NewVisit, request: Request) -> JSONResponse:
    """Request a visit. With an agency token the requester is that agency: `requester.
    agency_name` is replaced by the token's agency in the stored visit and in
    `ots.visit.requested`, and `requester.agency_type` `dispendukcapil` is refused (403).
    An operator names any requester. Text fields refuse control characters (422): names
    outright, free text (address, override note) except tab and line breaks."""
    who = authenticate(request)
    idempotency_key = request.headers.get("idempotency-key")
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
        raise field_problem(
            "Idempotency-Key", "1 to 200 characters", "Idempotency-Key is empty or too long"
        )
    if idempotency_key is not None and not idempotency_key.isprintable():
        raise field_problem("Idempotency-Key", "printable characters only")
    require(who, Role.OPERATOR, Role.AGENCY)
    visit = bind_requester(visit, who)
    if visit.overridden and who.role != Role.OPERATOR:
        raise Problem(403, "Forbidden", "only an operator may override a recording refusal")
    problems = check_new_visit(visit, datetime.now(WIB).date())
    if problems:
        errors = [FieldError(p.field, p.message, p.code, p.params) for p in problems]
        return validation_problem(errors, "/v1/visits")
    writer: VisitWriter = request.app.state.visit_writer
    outcome = await writer.accept(visit_item(visit, who, idempotency_key))
    match outcome["outcome"]:
        case "accepted" | "replay":
            return JSONResponse(outcome["response"], status_code=outcome["status_code"])
        case "resident_open":
            raise already_open(outcome["visit_id"])
        case "already_recorded":
            raise already_recorded(visit, outcome)
        case "key_reused":
            raise Problem(409, "Idempotency-Key reused", "this key was used with another body",
                          code="idempotency_key_reused")  # fmt: skip
    raise Problem(503, "Try again", "a concurrent request got in the way; retry with the same key")


@router.get("/visits/{visit_id}", tags=["visits"], responses=READ_VISIT)
async def get_visit(visit_id: VisitId, request: Request, who: Who) -> dict[str, Any]:
    return await in_transaction(pool_of(request), lambda conn: visit_view(conn, visit_id, who))


@router.get("/visits", tags=["visits"], responses=LIST_VISITS)
async def list_visits(
    request: Request,
    who: Who,
    status: VisitStatus | None = None,
    kecamatan: Annotated[str | None, Query(pattern=r"^[0-9]{6}$")] = None,
    venue_type: VenueType | None = None,
    since: IsoDate | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    where: list[str] = ["TRUE"]
    args: list[Any] = []
    for column, value in (
        ("status", status),
        ("kecamatan_code", kecamatan),
        ("venue_type", venue_type),
    ):
        if value is not None:
            args.append(str(value))
            where.append(f"{column} = ${len(args)}")
    if since is not None:
        # Midnight WIB of 0001-01-01 is before datetime's range in UTC; nothing is that old.
        args.append(datetime.combine(max(since, FIRST_LISTABLE_DAY), datetime.min.time(), WIB))
        where.append(f"created_at >= ${len(args)}")
    if cursor:
        args.extend(decode_cursor(cursor))
        where.append(f"(created_at, visit_id) < (${len(args) - 1}, ${len(args)})")
    clause, extra = visible_clause(who, len(args) + 1)
    args.extend(extra)
    sql = (f"SELECT * FROM intake.visits WHERE {' AND '.join(where)} AND {clause} "
           f"ORDER BY created_at DESC, visit_id DESC LIMIT {limit + 1}")  # fmt: skip
    rows = await in_transaction(
        pool_of(request), lambda conn: conn.fetch(sql, *args), single_statement=True
    )
    page = rows[:limit]
    more = len(rows) > limit
    next_cursor = encode_cursor(page[-1]["created_at"], page[-1]["visit_id"]) if more else None
    return {"items": [summary(r) for r in page], "next_cursor": next_cursor}


@router.post("/visits/{visit_id}/cancel", tags=["visits"], responses=CHANGE_VISIT)
async def cancel(visit_id: VisitId, body: CancelBody, request: Request, who: Who) -> dict[str, Any]:
    require(who, Role.OPERATOR, Role.AGENCY)
    return await in_transaction(
        pool_of(request), lambda conn: cancel_visit(conn, visit_id, body.reason, who)
    )


@router.post("/visits/{visit_id}/close", status_code=202, tags=["visits"], responses=CHANGE_VISIT)
async def close(visit_id: VisitId, body: CancelBody, request: Request, who: Who) -> dict[str, Any]:
    """An operator closes a visit its tablet never closed: recording completes it, residents
    not recorded absent, and the status follows once `ots.visit.completed` comes back."""
    require(who, Role.OPERATOR)
    return await in_transaction(
        pool_of(request), lambda conn: close_visit(conn, visit_id, body.reason, who)
    )


@router.put("/teams/{team_id}", tags=["teams"], responses=PUT_TEAM)
async def upsert_team(
    team_id: FleetId, body: TeamBody, request: Request, who: Who
) -> dict[str, Any]:
    require(who, Role.OPERATOR)
    return await in_transaction(pool_of(request), lambda conn: put_team(conn, team_id, body))


@router.get("/teams", tags=["teams"], responses=OPERATORS_ONLY)
async def teams(request: Request, who: Who) -> list[dict[str, Any]]:
    require(who, Role.OPERATOR)
    return await in_transaction(
        pool_of(request), lambda conn: list_rows(conn, "teams"), single_statement=True
    )


@router.put("/devices/{device_id}", tags=["devices"], responses=PUT_DEVICE)
async def enrol_device(
    device_id: FleetId, body: DeviceBody, request: Request, who: Who
) -> dict[str, Any]:
    require(who, Role.OPERATOR)
    if body.expires_at <= datetime.now(UTC) and not body.revoked:
        raise field_problem("expires_at", "must be in the future", "expires_at is in the past")
    return await in_transaction(pool_of(request), lambda conn: put_device(conn, device_id, body))


@router.get("/devices", tags=["devices"], responses=OPERATORS_ONLY)
async def devices(request: Request, who: Who) -> list[dict[str, Any]]:
    require(who, Role.OPERATOR)
    return await in_transaction(
        pool_of(request), lambda conn: list_rows(conn, "devices"), single_statement=True
    )
