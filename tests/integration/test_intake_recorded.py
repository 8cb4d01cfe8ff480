"""One recording per person (issue 15): intake refuses to record again whoever it saw recorded."""

import asyncio
from typing import Any

import httpx
from nats.aio.client import Client

from tests.integration.intake_fixtures import Tokens, bearer, intake, tokens
from tests.integration.test_intake_read_model import completed, recorded, recorded_and_completed
from tests.support.events import published
from tests.support.requests import a_home_visit

__all__ = ["intake", "tokens"]

RERECORD = {"reason": "rerecording_requested_by_center", "note": "Dukcapil pusat: sidik jari rusak"}
LATE_EVENING_UTC = 900
"""Minutes after 08:00 UTC on 1 Dec 2026: 23:00 UTC, already 06:00 on 2 Dec in Jember (WIB)."""


def for_resident(nik: str, *services: str, **resident: Any) -> dict[str, Any]:
    person = {"nik": nik, "name": "Siti Aminah", "needs": ["bedridden"]} | resident
    return a_home_visit(residents=[person], services=list(services or ["ktp_el_recording"]))


async def publish(nc: Client, *events: tuple[str, bytes, str]) -> None:
    for subject, body, msg_id in events:
        await nc.jetstream().publish(subject, body, headers={"Nats-Msg-Id": msg_id})


async def a_recorded_resident(
    intake: httpx.AsyncClient, tokens: Tokens, nc: Client
) -> tuple[str, str]:
    """A resident requested by an agency, recorded late in the evening; (nik, visit_id)."""
    body = a_home_visit()
    nik = body["residents"][0]["nik"]
    created = await intake.post("/v1/visits", json=body, headers=bearer(tokens.agency))
    visit_id: str = created.json()["visit_id"]
    await publish(nc, recorded(visit_id, nik, LATE_EVENING_UTC), completed(visit_id))
    await recorded_and_completed(intake, visit_id, tokens.operator)
    return nik, visit_id


async def test_a_recorded_resident_is_refused_naming_the_visit_and_the_day(
    intake: httpx.AsyncClient, tokens: Tokens, nc: Client
) -> None:
    nik, visit_id = await a_recorded_resident(intake, tokens, nc)
    for token in (tokens.other_agency, tokens.operator):
        again = await intake.post("/v1/visits", json=for_resident(nik), headers=bearer(token))
        assert again.status_code == 409
        assert again.headers["content-type"] == "application/problem+json"
        problem = again.json()
        assert problem["code"] == "already_recorded"
        assert problem["type"] == "urn:ots:problem:already_recorded"
        assert problem["conflicting_visit_id"] == visit_id
        assert problem["recorded_on"] == "2026-12-02"
        assert problem["field"] == "residents.0.nik"
        assert visit_id in problem["detail"] and "2026-12-02" in problem["detail"]
        assert nik not in again.text
    mixed = for_resident(nik, "kk", "ktp_el_recording")
    assert (await intake.post("/v1/visits", json=mixed, headers=bearer(tokens.agency))).json()[
        "code"
    ] == "already_recorded"


async def test_services_other_than_recording_are_still_accepted_for_them(
    intake: httpx.AsyncClient, tokens: Tokens, nc: Client
) -> None:
    nik, _ = await a_recorded_resident(intake, tokens, nc)
    kk = await intake.post(
        "/v1/visits", json=for_resident(nik, "kk"), headers=bearer(tokens.agency)
    )
    assert kk.status_code == 201
    await intake.post(
        f"/v1/visits/{kk.json()['visit_id']}/cancel", json={"reason": "done at the office"},
        headers=bearer(tokens.agency),
    )  # fmt: skip
    other = for_resident(nik, "akta_kelahiran", "ikd_activation")
    assert (
        await intake.post("/v1/visits", json=other, headers=bearer(tokens.agency))
    ).status_code == 201


async def test_an_operator_override_is_accepted_and_kept_in_the_history(
    intake: httpx.AsyncClient, tokens: Tokens, nc: Client
) -> None:
    nik, first = await a_recorded_resident(intake, tokens, nc)
    body = for_resident(nik, override=RERECORD)
    created = await intake.post("/v1/visits", json=body, headers=bearer(tokens.operator))
    assert created.status_code == 201
    visit_id = created.json()["visit_id"]
    view = (await intake.get(f"/v1/visits/{visit_id}", headers=bearer(tokens.operator))).json()
    [override] = [h for h in view["history"] if h["type"] == "recording_override"]
    assert override["by"] == "operator:dispendukcapil"
    [entry] = override["overrides"]
    assert entry["resident"] == "residents.0"
    assert entry["reason"] == "rerecording_requested_by_center"
    assert entry["note"] == RERECORD["note"]
    assert entry["previous_visit_id"] == first
    assert entry["previously_recorded_at"].startswith("2026-12-01T23:00:00")
    assert nik not in str(override)
    requested = await published(nc, "ots.visit.requested", expect=2)
    assert all("override" not in str(e["data"]["residents"]) for e in requested)


async def test_an_agency_may_not_override(
    intake: httpx.AsyncClient, tokens: Tokens, nc: Client
) -> None:
    nik, _ = await a_recorded_resident(intake, tokens, nc)
    body = for_resident(nik, override=RERECORD)
    refused = await intake.post("/v1/visits", json=body, headers=bearer(tokens.agency))
    assert refused.status_code == 403
    fresh = a_home_visit()
    fresh["residents"][0]["override"] = RERECORD
    assert (
        await intake.post("/v1/visits", json=fresh, headers=bearer(tokens.agency))
    ).status_code == 403


async def keep_requesting(
    intake: httpx.AsyncClient, nik: str, token: str, done: asyncio.Event
) -> list[httpx.Response]:
    """Ask to record `nik` again and again, until three answers after `done`."""
    answers, extra = [], 3
    while extra:
        answers.append(
            await intake.post("/v1/visits", json=for_resident(nik), headers=bearer(token))
        )
        extra -= done.is_set()
    return answers


async def test_requests_racing_a_recording_are_never_accepted(
    intake: httpx.AsyncClient, tokens: Tokens, nc: Client
) -> None:
    """Two requesters keep asking to record a person while their recording completes, with the
    completion arriving before the recording or after it: every answer is a 409, never 201."""
    for completion_first in (True, False):
        body = a_home_visit()
        nik = body["residents"][0]["nik"]
        created = await intake.post("/v1/visits", json=body, headers=bearer(tokens.agency))
        visit_id = created.json()["visit_id"]
        done = asyncio.Event()
        racers = [
            asyncio.create_task(keep_requesting(intake, nik, token, done))
            for token in (tokens.operator, tokens.other_agency)
        ]
        events = [recorded(visit_id, nik), completed(visit_id)]
        for e in reversed(events) if completion_first else events:
            await asyncio.sleep(0.2)
            await publish(nc, e)
        await recorded_and_completed(intake, visit_id, tokens.operator)
        done.set()
        answers = [a for racer in await asyncio.gather(*racers) for a in racer]
        assert len(answers) > 6
        assert {a.status_code for a in answers} == {409}
        assert {a.json()["conflicting_visit_id"] for a in answers} == {visit_id}
        assert answers[-1].json()["code"] == "already_recorded"
