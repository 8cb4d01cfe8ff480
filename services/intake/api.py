"""The operators' HTTP API: visits, teams and devices, behind role-scoped bearer tokens."""

from datetime import UTC, date, datetime
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from contracts.enums import AgencyType, VenueType, VisitStatus
from contracts.events import Id
from contracts.jember import WIB
from ots_runtime.db import in_transaction
from ots_runtime.http import FieldError, Problem, field_problem, validation_problem
from services.intake.domain.request import NewRequester, NewVisit
from services.intake.domain.rules import check_new_visit
from services.intake.domain.text import FreeText
from services.intake.fleet import DeviceBody, TeamBody, list_rows, put_device, put_team
from services.intake.recorded import OPENAPI_RESPONSES, already_recorded
from services.intake.tokens import Principal, Role, TokenVerifier
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

router = APIRouter(prefix="/v1")


def pool_of(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.runtime.pool
    return pool


bearer_scheme = HTTPBearer(auto_error=False, description="A token from `ots tokens create`")


async def principal(
    request: Request,
    _: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    return await authenticate(request)


Who = Annotated[Principal, Depends(principal)]


async def authenticate(request: Request) -> Principal:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    verifier: TokenVerifier = request.app.state.tokens
    who = await verifier.verify(token.strip()) if scheme.lower() == "bearer" and token else None
    if who is None:
        raise Problem(401, "Unauthorized", "a valid bearer token is required")
    return who


def require(who: Principal, *roles: Role) -> None:
    if who.role not in roles:
        raise Problem(403, "Forbidden", f"the {who.role} role may not do this")


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


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "The same key and body return the first answer; another body is 409.",
    "schema": {"type": "string", "maxLength": 200},
}  # fmt: skip


# The hottest route reads its two headers itself: FastAPI's dependency solving cost more than
# everything else intake adds to a request (bench/intake.py); the docs still show both.
@router.post(
    "/visits", status_code=201, tags=["visits"],
    openapi_extra={"security": [{"HTTPBearer": []}], "parameters": [IDEMPOTENCY_KEY]},
    responses=OPENAPI_RESPONSES,
)  # fmt: skip
async def create_visit(visit: NewVisit, request: Request) -> JSONResponse:
    """Request a visit. With an agency token the requester is that agency: `requester.
    agency_name` is replaced by the token's agency in the stored visit and in
    `ots.visit.requested`, and `requester.agency_type` `dispendukcapil` is refused (403).
    An operator names any requester. Text fields refuse control characters (422): names
    outright, free text (address, override note) except tab and line breaks."""
    who = await authenticate(request)
    idempotency_key = request.headers.get("idempotency-key")
    if idempotency_key is not None and len(idempotency_key) > 200:
        raise field_problem(
            "Idempotency-Key", "at most 200 characters", "Idempotency-Key is too long"
        )
    if idempotency_key is not None and not idempotency_key.isprintable():
        raise field_problem("Idempotency-Key", "printable characters only")
    require(who, Role.OPERATOR, Role.AGENCY)
    visit = bind_requester(visit, who)
    if visit.overridden and who.role != Role.OPERATOR:
        raise Problem(403, "Forbidden", "only an operator may override a recording refusal")
    problems = check_new_visit(visit, datetime.now(WIB).date())
    if problems:
        return validation_problem([FieldError(p.field, p.message) for p in problems], "/v1/visits")
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
            raise Problem(409, "Idempotency-Key reused", "this key was used with another body")
    raise Problem(503, "Try again", "a concurrent request got in the way; retry with the same key")


@router.get("/visits/{visit_id}", tags=["visits"])
async def get_visit(visit_id: VisitId, request: Request, who: Who) -> dict[str, Any]:
    return await in_transaction(pool_of(request), lambda conn: visit_view(conn, visit_id, who))


@router.get("/visits", tags=["visits"])
async def list_visits(
    request: Request,
    who: Who,
    status: VisitStatus | None = None,
    kecamatan: Annotated[str | None, Query(pattern=r"^[0-9]{6}$")] = None,
    venue_type: VenueType | None = None,
    since: date | None = None,
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
        args.append(datetime.combine(since, datetime.min.time(), WIB))
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


@router.post("/visits/{visit_id}/cancel", tags=["visits"])
async def cancel(visit_id: VisitId, body: CancelBody, request: Request, who: Who) -> dict[str, Any]:
    require(who, Role.OPERATOR, Role.AGENCY)
    return await in_transaction(
        pool_of(request), lambda conn: cancel_visit(conn, visit_id, body.reason, who)
    )


@router.post("/visits/{visit_id}/close", status_code=202, tags=["visits"])
async def close(visit_id: VisitId, body: CancelBody, request: Request, who: Who) -> dict[str, Any]:
    """An operator closes a visit its tablet never closed: recording completes it, residents
    not recorded absent, and the status follows once `ots.visit.completed` comes back."""
    require(who, Role.OPERATOR)
    return await in_transaction(
        pool_of(request), lambda conn: close_visit(conn, visit_id, body.reason, who)
    )


@router.put("/teams/{team_id}", tags=["teams"])
async def upsert_team(
    team_id: FleetId, body: TeamBody, request: Request, who: Who
) -> dict[str, Any]:
    require(who, Role.OPERATOR)
    return await in_transaction(pool_of(request), lambda conn: put_team(conn, team_id, body))


@router.get("/teams", tags=["teams"])
async def teams(request: Request, who: Who) -> list[dict[str, Any]]:
    require(who, Role.OPERATOR, Role.VIEWER)
    return await in_transaction(
        pool_of(request), lambda conn: list_rows(conn, "teams"), single_statement=True
    )


@router.put("/devices/{device_id}", tags=["devices"])
async def enrol_device(
    device_id: FleetId, body: DeviceBody, request: Request, who: Who
) -> dict[str, Any]:
    require(who, Role.OPERATOR)
    if body.expires_at <= datetime.now(UTC) and not body.revoked:
        raise field_problem("expires_at", "must be in the future", "expires_at is in the past")
    return await in_transaction(pool_of(request), lambda conn: put_device(conn, device_id, body))


@router.get("/devices", tags=["devices"])
async def devices(request: Request, who: Who) -> list[dict[str, Any]]:
    require(who, Role.OPERATOR, Role.VIEWER)
    return await in_transaction(
        pool_of(request), lambda conn: list_rows(conn, "devices"), single_statement=True
    )
