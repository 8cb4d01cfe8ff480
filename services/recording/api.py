"""`GET /v1/visits/{visit_id}/enrollments`: per person what is captured, excepted, missing.

Never biometric data: slot names, states, attempt counts and qualities only.
"""

from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Path, Request

from contracts.events import Id
from ots_runtime.auth import Who, mask_nik
from ots_runtime.http import UNAUTHORIZED, Problem, problem_responses
from services.recording.domain.completeness import (
    PersonStatus,
    Slot,
    SlotState,
    Thresholds,
    evaluate,
    slot_name,
    slot_of,
)

router = APIRouter(tags=["enrollments"])
VisitId = Annotated[Id, Path(description="A visit id as intake's POST /v1/visits returned it.")]
ENROLLMENTS = problem_responses({
    401: UNAUTHORIZED, 404: "No such visit known to recording, or not one this token's agency requested.",
})  # fmt: skip


@router.get("/v1/visits/{visit_id}/enrollments", responses=ENROLLMENTS)
async def enrollments(visit_id: VisitId, request: Request, who: Who) -> dict[str, Any]:
    """Operators see every visit; an agency only the visits it requested (any other is 404);
    a viewer sees every visit with NIKs masked to their last four digits."""
    pool: asyncpg.Pool = request.app.state.runtime.pool
    thresholds: Thresholds = request.app.state.thresholds
    async with pool.acquire() as conn:
        visit = await conn.fetchrow(
            "SELECT residents, absent_niks, closed_at, completed_at FROM recording.visits"
            " WHERE visit_id = $1 AND ($2::text IS NULL OR owner_agency = $2)",
            visit_id, None if who.sees_every_visit else who.agency,
        )  # fmt: skip
        if visit is None:
            raise Problem(404, "Not found", f"no visit {visit_id} known to recording")
        people = await _people(conn, visit_id, visit["residents"])
    described = [
        _describe(nik, p, set(visit["absent_niks"]), thresholds) for nik, p in people.items()
    ]
    if not who.sees_residents:
        described = [person | {"nik": mask_nik(person["nik"])} for person in described]
    return {
        "visit_id": visit_id,
        "closed": visit["closed_at"] is not None,
        "completed": visit["completed_at"] is not None,
        "people": described,
    }


class _Seen:
    def __init__(self) -> None:
        self.qualities: dict[Slot, list[int]] = {}
        self.excepted: set[Slot] = set()
        self.held = 0
        self.recorded = False


async def _people(
    conn: asyncpg.Connection, visit_id: str, residents: list[str]
) -> dict[str, _Seen]:
    people = {nik: _Seen() for nik in residents}
    for r in await conn.fetch(
        "SELECT nik, modality, position, quality, linked FROM recording.captures"
        " WHERE visit_id = $1 ORDER BY nik, sequence",
        visit_id,
    ):
        seen = people.setdefault(r["nik"], _Seen())
        if r["linked"]:
            seen.qualities.setdefault(slot_of(r["modality"], r["position"]), []).append(
                r["quality"]
            )
        else:
            seen.held += 1
    for r in await conn.fetch(
        "SELECT nik, modality, position FROM recording.exceptions WHERE visit_id = $1", visit_id
    ):
        people.setdefault(r["nik"], _Seen()).excepted.add(slot_of(r["modality"], r["position"]))
    for r in await conn.fetch("SELECT nik FROM recording.people WHERE visit_id = $1", visit_id):
        people.setdefault(r["nik"], _Seen()).recorded = True
    return people


def _describe(nik: str, seen: _Seen, absent: set[str], thresholds: Thresholds) -> dict[str, Any]:
    status: PersonStatus = evaluate(seen.qualities, seen.excepted, thresholds)

    def named(*states: SlotState) -> list[str]:
        return [slot_name(slot) for slot, state in status.slots.items() if state in states]

    return {
        "nik": nik,
        "recorded": seen.recorded,
        "absent": nik in absent and not seen.recorded,
        "complete": status.complete,
        "flagged": status.flagged,
        "captured": named(SlotState.CAPTURED, SlotState.ACCEPTED_BELOW_THRESHOLD),
        "accepted_below_threshold": named(SlotState.ACCEPTED_BELOW_THRESHOLD),
        "excepted": named(SlotState.EXCEPTED),
        "missing": named(SlotState.MISSING, SlotState.RECAPTURE),
        "attempts": {slot_name(slot): len(q) for slot, q in seen.qualities.items()},
        "quality": {slot_name(slot): q for slot, q in status.best.items()},
        "held_captures": seen.held,
    }
