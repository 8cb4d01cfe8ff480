"""My visits: the list with its filters, a visit's page with its live timeline, cancelling."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from contracts.enums import VisitStatus
from contracts.subjects import (
    RECORDING_COMPLETED,
    VISIT_CANCELLED,
    VISIT_CLOSE_REQUESTED,
    VISIT_COMPLETED,
    VISIT_SCHEDULED,
    VISIT_UNASSIGNED,
)
from services.intake.console.api_client import IntakeApi
from services.intake.console.session import PATH
from services.intake.console.web import (
    Visitor,
    checked_form,
    language_of,
    redirect,
    render,
    requester,
    signed_in,
)
from services.intake.domain.status import OPEN

router = APIRouter()
LIVE_SECONDS = 3
"""How often an open visit's page asks the read model again; a finished one stops asking."""

TIMELINE_KINDS = {
    VISIT_SCHEDULED.type: "scheduled",
    VISIT_UNASSIGNED.type: "unassigned",
    VISIT_COMPLETED.type: "completed",
    VISIT_CANCELLED.type: "cancelled",
    VISIT_CLOSE_REQUESTED.type: "close_requested",
    RECORDING_COMPLETED.type: "person_recorded",
}


@router.get("/visits")
async def visits(
    request: Request,
    visitor: Annotated[Visitor, Depends(signed_in)],
    status: str = "",
    since: str = "",
    cursor: str = "",
) -> Response:
    status = status if status in VisitStatus.__members__.values() else ""
    answer = await IntakeApi(request, visitor).get(
        "/visits", status=status, since=since, cursor=cursor, limit=50
    )
    items = answer.body.get("items", []) if answer.ok else []
    return render(
        request, "visits.html", visitor, status=status, since=since, items=items,
        next_cursor=answer.body.get("next_cursor") if answer.ok else None,
        errors=answer.field_errors(language_of(request)), statuses=list(VisitStatus),
    )  # fmt: skip


async def _visit(request: Request, visitor: Visitor, visit_id: str) -> tuple[int, dict[str, Any]]:
    answer = await IntakeApi(request, visitor).get(f"/visits/{visit_id}")
    return answer.status, answer.body if answer.ok else {}


def timeline(visit: dict[str, Any]) -> list[dict[str, Any]]:
    """The visit's history in plain words' order: requested first, then what came back."""
    entries = [{"kind": "requested", "time": visit["created_at"]}]
    for event in visit.get("history", []):
        kind = TIMELINE_KINDS.get(event["type"])
        if kind is not None:
            entries.append({**event, "kind": kind})
    return entries


def _view(visit: dict[str, Any]) -> dict[str, Any]:
    return {"visit": visit, "timeline": timeline(visit),
            "live": VisitStatus(visit["status"]) in OPEN, "live_seconds": LIVE_SECONDS}  # fmt: skip


@router.get("/visits/{visit_id}")
async def visit_page(
    request: Request, visit_id: str, visitor: Annotated[Visitor, Depends(signed_in)]
) -> Response:
    status, visit = await _visit(request, visitor, visit_id)
    if not visit:
        return render(request, "not_found.html", visitor, status_code=404 if status != 403 else 403)
    return render(request, "visit.html", visitor, errors={}, **_view(visit))


@router.get("/visits/{visit_id}/live")
async def visit_live(
    request: Request, visit_id: str, visitor: Annotated[Visitor, Depends(signed_in)]
) -> Response:
    """The status and timeline alone, for htmx to swap in while the visit is open."""
    _, visit = await _visit(request, visitor, visit_id)
    if not visit:
        return render(request, "not_found.html", visitor, status_code=404)
    return render(request, "visit_live.html", visitor, **_view(visit))


@router.post("/visits/{visit_id}/cancel")
async def cancel(
    request: Request, visit_id: str, visitor: Annotated[Visitor, Depends(requester)]
) -> Response:
    form = await checked_form(request, visitor)
    reason = str(form.get("reason") or "").strip()
    answer = await IntakeApi(request, visitor).call(
        "POST", f"/visits/{visit_id}/cancel", json={"reason": reason}
    )
    if answer.ok:
        return redirect(request, f"{PATH}/visits/{visit_id}")
    _, visit = await _visit(request, visitor, visit_id)
    if not visit:
        return render(request, "not_found.html", visitor, status_code=404)
    errors = answer.field_errors(language_of(request))
    errors = {("reason" if k in ("", "body") else k): v for k, v in errors.items()}
    return render(request, "visit.html", visitor, errors=errors, reason=reason,
                  status_code=answer.status, **_view(visit))  # fmt: skip
