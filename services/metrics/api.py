"""Reports and the Prometheus exposition of the aggregates."""

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from ots_runtime.auth import Who
from ots_runtime.http import UNAUTHORIZED, field_problem, problem_responses
from services.metrics.adapters import snapshot
from services.metrics.adapters.reports import services_report
from services.metrics.domain.reports import GroupBy, Report, as_csv, as_json

router = APIRouter()
Year = Annotated[int | None, Query(ge=1900, le=2100)]
CSV = "text/csv"
Split = Literal["venue_type", "service_type"]
FROM_AFTER_TO = "A query parameter is malformed, or `from` is after `to`."
REFUSALS = {401: UNAUTHORIZED, 422: FROM_AFTER_TO}
REPORT: dict[int | str, dict[str, Any]] = problem_responses(REFUSALS, also={
    200: {
        "description": "The report as JSON, or as CSV with `Accept: text/csv`.",
        "content": {
            "application/json": {"schema": {"type": "object", "additionalProperties": True}},
            CSV: {"schema": {"type": "string"}},
        },
    },
})  # fmt: skip
CHART: dict[int | str, dict[str, Any]] = problem_responses(REFUSALS, also={
    200: {"description": "A PNG chart.", "content": {"image/png": {"schema": {}}}},
})  # fmt: skip


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    state = request.app.state
    async with state.scrape_lock:
        state.collector.snapshot = await snapshot.read(
            state.runtime.pool, state.runtime.js, snapshot.today_in_jember()
        )
        body = generate_latest(REGISTRY) + generate_latest(state.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


async def _report(request: Request, year_from: int | None, year_to: int | None,
                  group_by: GroupBy) -> Report:  # fmt: skip
    if year_from is not None and year_to is not None and year_from > year_to:
        raise field_problem("from", "must not be after to", "from is after to")
    return await services_report(request.app.state.runtime.pool, year_from, year_to, group_by)


@router.get("/v1/reports/services", tags=["reports"], response_model=None, responses=REPORT)
async def services(
    request: Request,
    _: Who,
    year_from: Annotated[Year, Query(alias="from")] = None,
    year_to: Annotated[Year, Query(alias="to")] = None,
    group_by: GroupBy = GroupBy.YEAR,
) -> Response:
    """Services delivered per year (events and imported history); CSV with `Accept: text/csv`."""
    report = await _report(request, year_from, year_to, group_by)
    if CSV in request.headers.get("accept", ""):
        filename = f"ots-services-by-{group_by.value}.csv"
        return Response(as_csv(report), media_type=f"{CSV}; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})  # fmt: skip
    return JSONResponse(as_json(report))


@router.get("/v1/reports/services.png", tags=["reports"], response_class=Response, responses=CHART)
async def services_chart(
    request: Request,
    _: Who,
    year_from: Annotated[Year, Query(alias="from")] = None,
    year_to: Annotated[Year, Query(alias="to")] = None,
    split: Annotated[Split, Query(description="venue_type or service_type")] = "venue_type",
) -> Response:
    """A stacked bar chart of services per year, split by venue or service type."""
    report = await _report(request, year_from, year_to, GroupBy(split))
    from services.metrics.adapters.chart import render  # matplotlib loads on the first chart

    return Response(await asyncio.to_thread(render, report), media_type="image/png")
