"""Operators' view of the plan: today's routes per team, unassigned visits, dead letters and
the yearly report (each read from the service that owns it)."""

import asyncio
import logging
from collections import Counter
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from contracts.jember import WIB, kecamatan_names
from ots import dlq
from services.intake.console.api_client import IntakeApi, plans, replan, report
from services.intake.console.route_map import Kecamatan, route_map
from services.intake.console.session import PATH
from services.intake.console.venue_centroids import Centroid, venue_centroids
from services.intake.console.web import (
    Visitor,
    checked_form,
    operator,
    page_headers,
    redirect,
    render,
    staff,
)

router = APIRouter()
log = logging.getLogger(__name__)
CSV = "text/csv"
SERVICES = ("intake", "dispatch", "recording", "metrics")
READ_SECONDS = 5.0


Staff = Annotated[Visitor, Depends(staff)]


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return datetime.now(WIB).date()


async def _visits(api: IntakeApi, visit_ids: list[str]) -> dict[str, dict[str, Any]]:
    answers = await asyncio.gather(*(api.get(f"/visits/{v}") for v in visit_ids))
    return {v: a.body for v, a in zip(visit_ids, answers, strict=True) if a.ok}


def _kecamatan(centroids: list[Centroid], of_stops: set[str | None]) -> list[Kecamatan]:
    names = kecamatan_names()
    return [Kecamatan(c.lat, c.lon, names.get(c.kecamatan_code, c.kecamatan_code),
                      c.kecamatan_code in of_stops) for c in centroids]  # fmt: skip


@router.get("/routes")
async def routes(request: Request, visitor: Staff, date: str = "") -> Response:
    day = _day(date)
    api = IntakeApi(request, visitor)
    planned, teams = await plans(request, visitor, day.isoformat()), await api.get("/teams")
    by_team = {t["team_id"]: t for t in teams.body} if teams.ok else {}
    drawn = []
    planned_routes = planned.body.get("routes", []) if planned.ok else []
    centroids = await venue_centroids(request.app.state.runtime.pool) if planned_routes else []
    for route in planned_routes:
        visits = await _visits(api, [s["visit_id"] for s in route["stops"]])
        stops = []
        for stop in route["stops"]:
            venue = visits.get(stop["visit_id"], {}).get("request", {}).get("venue", {})
            stops.append({**stop, "venue": venue})
        team = by_team.get(route["team_id"], {})
        base = team.get("base")
        points = [(s["venue"]["lat"], s["venue"]["lon"], s["venue"].get("name", "")) for s in stops
                  if "lat" in s["venue"]]  # fmt: skip
        around = _kecamatan(centroids, {s["venue"].get("kecamatan_code") for s in stops})
        drawn.append({
            "route": route, "team": team, "stops": stops,
            "map": route_map((base["lat"], base["lon"]) if base else None, points, around),
        })  # fmt: skip
    return render(request, "routes.html", visitor, day=day, routes=drawn,
                  unavailable=None if planned.ok else planned.field_errors())  # fmt: skip


@router.get("/unassigned")
async def unassigned(request: Request, visitor: Staff, replanning: str = "") -> Response:
    return await _unassigned_page(request, visitor, replanning=replanning == "1")


@router.post("/unassigned/replan")
async def plan_again(request: Request, visitor: Annotated[Visitor, Depends(operator)]) -> Response:
    """The "plan again" button: dispatch marks its plan to be made anew; the page says it
    was asked (what changes comes back as events, onto each visit's page)."""
    await checked_form(request, visitor)
    answer = await replan(request, visitor)
    if answer.ok:
        return redirect(request, f"{PATH}/unassigned?replanning=1")
    return await _unassigned_page(request, visitor, errors=answer.field_errors(),
                                  status_code=502 if answer.status >= 500 else answer.status)  # fmt: skip


async def _unassigned_page(
    request: Request, visitor: Visitor, *, replanning: bool = False,
    errors: dict[str, str] | None = None, status_code: int = 200,
) -> Response:  # fmt: skip
    api = IntakeApi(request, visitor)
    listed = await api.get("/visits", status="unassigned", limit=100)
    items = listed.body.get("items", []) if listed.ok else []
    visits = await _visits(api, [v["visit_id"] for v in items])
    rows = []
    for item in items:
        history = visits.get(item["visit_id"], {}).get("history", [])
        reasons = [h["reason"] for h in history if "reason" in h and "unassigned" in h["type"]]
        rows.append({**item, "reason": reasons[-1] if reasons else None})
    return render(request, "unassigned.html", visitor, rows=rows, replanning=replanning,
                  errors=errors or {}, status_code=status_code)  # fmt: skip


@router.get("/dead-letters")
async def dead_letters(request: Request, visitor: Staff) -> Response:
    """How many messages could not be processed, per service, and why (redacted: never a
    NIK). Counts need only the stream's info; reasons need to read the letters, which a
    least-privileged intake may not: the page then says where to read them."""
    js = request.app.state.runtime.js
    try:
        per_service = {s: await dlq.count(js, s) for s in SERVICES}
        total: int | None = await dlq.count(js)
    except Exception as error:  # NATS refused or is away: the page says so instead of failing
        log.warning("dead letters uncountable: %r", error)
        per_service, total = {}, None
    reasons: list[tuple[tuple[str, str], int]] | None = None
    if total:
        try:
            async with asyncio.timeout(READ_SECONDS):
                found = await dlq.letters(js)
            reasons = Counter(
                (f.dead.service, dlq.one_line(f.dead.error)) if isinstance(f, dlq.Letter)
                else ("?", dlq.one_line(f.problem))
                for f in found
            ).most_common()  # fmt: skip
        except Exception as error:
            log.info("dead letters' reasons unreadable here: %r", error)
    return render(request, "dead_letters.html", visitor, total=total,
                  per_service={s: n for s, n in per_service.items() if n},
                  reasons=reasons)  # fmt: skip


def _years(year_from: str, year_to: str) -> dict[str, Any]:
    return {"from": year_from if year_from.isdigit() else "",
            "to": year_to if year_to.isdigit() else ""}  # fmt: skip


@router.get("/report")
async def yearly_report(request: Request, visitor: Staff, year_from: str = "",
                        year_to: str = "") -> Response:  # fmt: skip
    years = _years(year_from, year_to)
    answer = await report(
        request, visitor, "/v1/reports/services", years | {"group_by": "year"}, "application/json"
    )
    return render(request, "report.html", visitor, years=years,
                  report=answer.body if answer.ok else None,
                  errors={} if answer.ok else answer.field_errors())  # fmt: skip


@router.get("/report/chart.png")
async def report_chart(request: Request, visitor: Staff, year_from: str = "",
                       year_to: str = "") -> Response:  # fmt: skip
    answer = await report(request, visitor, "/v1/reports/services.png", _years(year_from, year_to),
                          "image/png")  # fmt: skip
    if not answer.ok:
        return Response(status_code=answer.status)
    return Response(answer.body, media_type="image/png", headers=page_headers())


@router.get("/report/services.csv")
async def report_csv(request: Request, visitor: Staff, year_from: str = "",
                     year_to: str = "", group_by: str = "year") -> Response:  # fmt: skip
    params = _years(year_from, year_to) | {"group_by": group_by}
    answer = await report(request, visitor, "/v1/reports/services", params, CSV)
    if not answer.ok:
        return Response(status_code=answer.status)
    disposition = answer.headers.get("content-disposition", "attachment")
    return Response(answer.body, media_type=f"{CSV}; charset=utf-8",
                    headers=page_headers() | {"Content-Disposition": disposition})  # fmt: skip
