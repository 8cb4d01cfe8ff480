"""One recording per person: who intake knows to be recorded, and the refusal that follows.

Recording someone who already has a KTP-el recording creates a Duplicate_Record at the
national centre and blocks their card (domain.md). Intake keeps every person whose
`ots.recording.completed` it has seen and refuses to request recording them again, unless an
operator overrides it. Other services (KK, akta, IKD activation, ...) are still accepted.
"""

from datetime import datetime
from typing import Any

import asyncpg

from contracts.jember import WIB
from ots_runtime.http import Problem
from services.intake.domain.request import NewVisit

ALREADY_RECORDED = "already_recorded"
PROBLEM_TYPE = f"urn:ots:problem:{ALREADY_RECORDED}"

OPENAPI_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"description": "A viewer, or a non-operator sending a resident's `override`."},
    409: {
        "description": (
            "Refused, as `application/problem+json`: a resident is already in an open request "
            "(`conflicting_visit_id`); the Idempotency-Key was used with another body; or "
            f"(`code` `{ALREADY_RECORDED}`, `type` `{PROBLEM_TYPE}`) the request asks for "
            "`ktp_el_recording` of a resident who already has a KTP-el recording: recording "
            "them again would create a Duplicate_Record that blocks their card. The problem "
            "names the resident (`field`), the visit that recorded them "
            "(`conflicting_visit_id`) and the day, in WIB (`recorded_on`). Services other "
            "than recording are accepted for them; an operator may record them again with "
            '`residents[i].override = {"reason": "rerecording_requested_by_center", '
            '"note": "..."}`, kept in the new visit\'s history.'
        ),
        "content": {
            "application/problem+json": {
                "example": {
                    "type": PROBLEM_TYPE, "code": ALREADY_RECORDED, "status": 409,
                    "title": "Person already recorded",
                    "detail": "residents.0 was recorded in visit v-0123 on 2026-12-01",
                    "instance": "/v1/visits", "field": "residents.0.nik",
                    "conflicting_visit_id": "v-0123", "recorded_on": "2026-12-01",
                },
            }
        },
    },
}  # fmt: skip


def already_recorded(visit: NewVisit, outcome: dict[str, Any]) -> Problem:
    """The 409 for a resident already recorded; names them by position, never by NIK."""
    nik, visit_id = outcome["nik"], outcome["visit_id"]
    recorded_on = datetime.fromisoformat(outcome["recorded_at"]).astimezone(WIB).date()
    index = next((i for i, r in enumerate(visit.residents) if r.nik == nik), 0)
    return Problem(
        409, "Person already recorded",
        f"residents.{index} was recorded in visit {visit_id} on {recorded_on}; recording them "
        "again would create a Duplicate_Record that blocks their card. Other services are "
        "accepted for them; an operator may override with reason rerecording_requested_by_center",
        type=PROBLEM_TYPE, code=ALREADY_RECORDED, field=f"residents.{index}.nik",
        conflicting_visit_id=visit_id, recorded_on=recorded_on.isoformat(),
    )  # fmt: skip


async def remember_recording(
    conn: asyncpg.Connection, nik: str, visit_id: str, recorded_at: datetime, event_id: str
) -> None:
    """Keep the person as recorded; a repeat of the same recording changes nothing."""
    await conn.execute(
        "INSERT INTO intake.recorded_residents (nik, visit_id, recorded_at, event_id) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (nik, visit_id) DO NOTHING",
        nik, visit_id, recorded_at, event_id,
    )  # fmt: skip


async def release_if_settled(conn: asyncpg.Connection, visit_id: str) -> None:
    """Free a completed visit's residents once every recording it counted has been seen.

    Until then they stay in open_residents: a completion that overtook a recording must not
    leave a person neither open nor recorded, or a new request would slip through.
    Call with the visit's row locked.
    """
    released = await conn.fetchval(
        "UPDATE intake.visits v SET recordings_awaited = NULL WHERE visit_id = $1 "
        "AND recordings_awaited IS NOT NULL AND recordings_awaited <= "
        "(SELECT count(*) FROM intake.recorded_residents r WHERE r.visit_id = v.visit_id) "
        "RETURNING visit_id",
        visit_id,
    )
    if released is not None:
        await conn.execute("DELETE FROM intake.open_residents WHERE visit_id = $1", visit_id)
