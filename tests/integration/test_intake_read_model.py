"""Intake's status read model, fed by events in any order and with repeats."""

import asyncio
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from nats.aio.client import Client
from pydantic import BaseModel

from contracts import envelope
from contracts.events import RecordingCompleted, VisitCompleted, VisitScheduled, VisitUnassigned
from contracts.subjects import (
    RECORDING_COMPLETED,
    VISIT_COMPLETED,
    VISIT_SCHEDULED,
    VISIT_UNASSIGNED,
    EventSpec,
)
from tests.integration.intake_fixtures import Tokens, bearer, intake, tokens
from tests.support.requests import a_home_visit

__all__ = ["intake", "tokens"]


def event(spec: EventSpec, data: BaseModel, minutes: int) -> tuple[str, bytes, str]:
    built = envelope(data, type_=spec.type, source="ots/test", subject=None)
    built = built.model_copy(
        update={"time": datetime(2026, 12, 1, 8, tzinfo=UTC) + timedelta(minutes=minutes)}
    )
    return spec.subject(), built.model_dump_json().encode(), built.id


def scheduled(visit_id: str, revision: int, team: str) -> tuple[str, bytes, str]:
    data = VisitScheduled(
        visit_id=visit_id, team_id=team, date=date(2026, 12, 2), service_minutes=30,
        eta=datetime(2026, 12, 2, 9, tzinfo=UTC), plan_revision=revision,
    )  # fmt: skip
    return event(VISIT_SCHEDULED, data, revision)


def completed(visit_id: str) -> tuple[str, bytes, str]:
    data = VisitCompleted(
        visit_id=visit_id, team_id="team-2", venue_type="home", kecamatan_code="350901",
        people_recorded=1, people_absent=0, services_delivered=1,
    )  # fmt: skip
    return event(VISIT_COMPLETED, data, 100)


def recorded(visit_id: str, nik: str, minutes: int = 90) -> tuple[str, bytes, str]:
    """`ots.recording.completed` for `nik` in `visit_id`, at 08:00 UTC on 1 Dec 2026 + minutes."""
    data = RecordingCompleted(
        visit_id=visit_id, nik=nik, team_id="team-2", venue_type="home",
        kecamatan_code="350901", modalities=["finger", "iris", "face", "signature"],
        quality={"finger": 80, "iris": 90, "face": 95, "signature": 100},
    )  # fmt: skip
    return event(RECORDING_COMPLETED, data, minutes)


async def send_shuffled(nc: Client, events: list[tuple[str, bytes, str]], seed: int) -> None:
    """Every event twice (one re-sent with a transport id JetStream cannot dedupe), shuffled."""
    deliveries = [(s, b, i) for s, b, i in events] + [(s, b, f"resend-{i}") for s, b, i in events]
    random.Random(seed).shuffle(deliveries)
    for subject, body, msg_id in deliveries:
        await nc.jetstream().publish(subject, body, headers={"Nats-Msg-Id": msg_id})


async def status_of(
    intake: httpx.AsyncClient, visit_id: str, token: str, want: str
) -> dict[str, Any]:
    for _ in range(100):
        view: dict[str, Any] = (
            await intake.get(f"/v1/visits/{visit_id}", headers=bearer(token))
        ).json()
        if view["status"] == want:
            return view
        await asyncio.sleep(0.1)
    raise AssertionError(f"{visit_id} is {view['status']}, not {want}")


async def recorded_and_completed(
    intake: httpx.AsyncClient, visit_id: str, token: str, people: int = 1
) -> dict[str, Any]:
    """The visit's view once it is completed and `people` recordings of it have been seen."""
    for _ in range(100):
        view = await status_of(intake, visit_id, token, "completed")
        if view["people_recorded"] >= people:
            return view
        await asyncio.sleep(0.1)
    raise AssertionError(f"{visit_id} has {view['people_recorded']} recordings, not {people}")


async def new_visit(intake: httpx.AsyncClient, token: str) -> str:
    created = await intake.post("/v1/visits", json=a_home_visit(), headers=bearer(token))
    visit_id: str = created.json()["visit_id"]
    return visit_id


async def test_a_late_scheduled_never_overwrites_completed(
    intake: httpx.AsyncClient, tokens: Tokens, nc: Client
) -> None:
    for seed in range(3):
        visit_id = await new_visit(intake, tokens.operator)
        events = [
            scheduled(visit_id, 1, "team-1"),
            scheduled(visit_id, 2, "team-2"),
            completed(visit_id),
        ]
        await send_shuffled(nc, events, seed)
        view = await status_of(intake, visit_id, tokens.operator, "completed")
        await asyncio.sleep(0.5)
        view = await status_of(intake, visit_id, tokens.operator, "completed")
        types = [h["type"] for h in view["history"]]
        assert types.count("ots.visit.scheduled.v1") == 2
        assert types.count("ots.visit.completed.v1") == 1


async def test_a_higher_plan_revision_supersedes_a_lower_whatever_the_order(
    intake: httpx.AsyncClient, tokens: Tokens, nc: Client
) -> None:
    visit_id = await new_visit(intake, tokens.operator)
    unassigned = event(
        VISIT_UNASSIGNED,
        VisitUnassigned(visit_id=visit_id, reason="no_capacity_in_window", plan_revision=1),
        1,
    )
    events = [scheduled(visit_id, 3, "team-3"), unassigned, scheduled(visit_id, 2, "team-2")]
    await send_shuffled(nc, events, seed=7)
    await asyncio.sleep(1.0)
    view = await status_of(intake, visit_id, tokens.operator, "scheduled")
    assert view["team_id"] == "team-3"


async def test_a_completed_visit_cannot_be_cancelled_and_its_recorded_residents_stay_refused(
    intake: httpx.AsyncClient, tokens: Tokens, nc: Client
) -> None:
    """Issue 15: completion once freed its residents and a new recording request was accepted,
    which would create a Duplicate_Record; a recorded person is now refused for recording."""
    body = a_home_visit()
    visit_id = (await intake.post("/v1/visits", json=body, headers=bearer(tokens.operator))).json()[
        "visit_id"
    ]
    nik = body["residents"][0]["nik"]
    await send_shuffled(nc, [recorded(visit_id, nik), completed(visit_id)], seed=1)
    await recorded_and_completed(intake, visit_id, tokens.operator)
    refused = await intake.post(
        f"/v1/visits/{visit_id}/cancel", json={"reason": "late"}, headers=bearer(tokens.operator)
    )
    assert refused.status_code == 409
    again = await intake.post("/v1/visits", json=body, headers=bearer(tokens.operator))
    assert again.status_code == 409
    assert again.json()["code"] == "already_recorded"
