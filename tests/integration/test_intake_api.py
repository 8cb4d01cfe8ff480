"""The operators' API on real NATS and PostgreSQL."""

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from nats.aio.client import Client

from contracts.events import VisitScheduled
from contracts.jember import WIB
from contracts.subjects import VISIT_SCHEDULED
from ots.simulate.upstream import emit
from ots_runtime.settings import Settings
from ots_runtime.subscriber import DurableBatch
from services.intake.app import create_app
from services.recording.app import create_app as create_recording_app
from tests.integration.intake_fixtures import Tokens, bearer, intake, tokens
from tests.integration.test_recording_fixtures import recording_config
from tests.support.events import eventually, published
from tests.support.http_service import serving
from tests.support.intake import intake_config
from tests.support.requests import a_home_visit, a_nik, a_team

__all__ = ["intake", "tokens"]


async def test_a_request_without_a_token_is_401(intake: httpx.AsyncClient) -> None:
    response = await intake.post("/v1/visits", json=a_home_visit())
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_created_visit_appears_as_a_cloudevent_on_visit_requested(
    intake: httpx.AsyncClient, tokens: Tokens, nc: Client
) -> None:
    response = await intake.post("/v1/visits", json=a_home_visit(), headers=bearer(tokens.agency))
    assert response.status_code == 201
    visit_id = response.json()["visit_id"]

    [event] = await published(nc, "ots.visit.requested", expect=1)
    assert event["type"] == "ots.visit.requested.v1"
    assert event["specversion"] == "1.0"
    assert event["source"] == "ots/intake"
    assert event["subject"] == visit_id
    assert event["data"]["visit_id"] == visit_id
    assert event["_msg_id"] == event["id"]


async def test_a_viewer_cannot_write(intake: httpx.AsyncClient, tokens: Tokens) -> None:
    response = await intake.post("/v1/visits", json=a_home_visit(), headers=bearer(tokens.viewer))
    assert response.status_code == 403


async def test_an_agency_sees_and_cancels_only_its_own_visits(
    intake: httpx.AsyncClient, tokens: Tokens
) -> None:
    created = await intake.post("/v1/visits", json=a_home_visit(), headers=bearer(tokens.agency))
    visit_id = created.json()["visit_id"]
    path = f"/v1/visits/{visit_id}"

    assert (await intake.get(path, headers=bearer(tokens.other_agency))).status_code == 404
    refused = await intake.post(
        f"{path}/cancel", json={"reason": "x"}, headers=bearer(tokens.other_agency)
    )
    assert refused.status_code == 404
    others = await intake.get("/v1/visits", headers=bearer(tokens.other_agency))
    assert others.json()["items"] == []
    assert (await intake.get(path, headers=bearer(tokens.agency))).status_code == 200
    assert (await intake.get(path, headers=bearer(tokens.viewer))).status_code == 200


async def test_an_invalid_request_names_every_bad_field(
    intake: httpx.AsyncClient, tokens: Tokens
) -> None:
    body = a_home_visit(
        residents=[{"nik": "3509015205900000", "name": "X", "needs": []}],
        venue={"type": "home", "name": "R", "kecamatan_code": "359999", "lat": -6.2, "lon": 106.8},
    )
    response = await intake.post("/v1/visits", json=body, headers=bearer(tokens.operator))
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"residents.0.nik", "venue.kecamatan_code", "venue.lat"} <= fields


async def test_a_malformed_body_is_a_problem_naming_the_field(
    intake: httpx.AsyncClient, tokens: Tokens
) -> None:
    body = a_home_visit(expected_people="many")
    response = await intake.post("/v1/visits", json=body, headers=bearer(tokens.operator))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["expected_people"]


async def test_an_oversized_body_is_413_and_too_many_residents_is_422(
    intake: httpx.AsyncClient, tokens: Tokens
) -> None:
    huge = a_home_visit(venue={"name": "x" * 300_000})
    assert (
        await intake.post("/v1/visits", json=huge, headers=bearer(tokens.operator))
    ).status_code == 413
    many = [{"nik": a_nik(), "name": "A"} for _ in range(501)]
    crowd = a_home_visit(residents=many, expected_people=600)
    response = await intake.post("/v1/visits", json=crowd, headers=bearer(tokens.operator))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "residents"


async def test_a_person_already_in_an_open_request_is_refused_naming_it(
    intake: httpx.AsyncClient, tokens: Tokens
) -> None:
    body = a_home_visit()
    first = await intake.post("/v1/visits", json=body, headers=bearer(tokens.agency))
    second = await intake.post("/v1/visits", json=body, headers=bearer(tokens.other_agency))
    assert second.status_code == 409
    assert second.json()["conflicting_visit_id"] == first.json()["visit_id"]
    assert second.json()["code"] == "resident_open"


async def test_a_cancelled_request_frees_its_residents(
    intake: httpx.AsyncClient, tokens: Tokens, nc: Client
) -> None:
    body = a_home_visit()
    first = (await intake.post("/v1/visits", json=body, headers=bearer(tokens.agency))).json()
    cancel = await intake.post(
        f"/v1/visits/{first['visit_id']}/cancel",
        json={"reason": "moved"},
        headers=bearer(tokens.agency),
    )
    assert cancel.json()["status"] == "cancelled"
    again = await intake.post("/v1/visits", json=body, headers=bearer(tokens.agency))
    assert again.status_code == 201
    [cancelled] = await published(nc, "ots.visit.cancelled", expect=1)
    assert cancelled["data"] == {"visit_id": first["visit_id"], "reason": "moved"}


async def test_the_same_idempotency_key_and_body_return_the_first_answer_across_a_restart(
    settings: Settings, tokens: Tokens
) -> None:
    body, key = a_home_visit(), {"Idempotency-Key": str(uuid.uuid4())}
    headers = bearer(tokens.agency) | key
    async with serving(create_app(settings, intake_config())) as client:
        first = await client.post("/v1/visits", json=body, headers=headers)
    async with serving(create_app(settings, intake_config())) as client:
        again = await client.post("/v1/visits", json=body, headers=headers)
        other = await client.post("/v1/visits", json=a_home_visit(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["visit_id"] == first.json()["visit_id"]
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"


async def test_teams_and_devices_are_published_and_operators_only(
    intake: httpx.AsyncClient, tokens: Tokens, nc: Client
) -> None:
    team = await intake.put("/v1/teams/team-1", json=a_team(), headers=bearer(tokens.operator))
    assert team.status_code == 200
    refused = await intake.put("/v1/teams/team-2", json=a_team(), headers=bearer(tokens.agency))
    assert refused.status_code == 403
    device = {
        "team_id": "team-1", "kind": "gateway", "public_key": "A" * 43 + "=",
        "expires_at": "2099-01-01T00:00:00+07:00",
    }  # fmt: skip
    enrolled = await intake.put("/v1/devices/tab-1", json=device, headers=bearer(tokens.operator))
    assert enrolled.status_code == 200
    revoked = await intake.put(
        "/v1/devices/tab-1", json=device | {"revoked": True}, headers=bearer(tokens.operator)
    )
    assert revoked.json()["revoked"] is True
    [team_event] = await published(nc, "ots.team.updated", expect=1)
    assert team_event["data"]["team_id"] == "team-1"
    devices = await published(nc, "ots.device.enrolled", expect=2)
    assert [d["data"]["revoked"] for d in devices] == [False, True]


async def test_a_device_with_a_key_that_is_not_32_bytes_is_refused(
    intake: httpx.AsyncClient, tokens: Tokens
) -> None:
    await intake.put("/v1/teams/team-1", json=a_team(), headers=bearer(tokens.operator))
    device = {"team_id": "team-1", "kind": "iris", "public_key": "AAAA",
              "expires_at": "2099-01-01T00:00:00+07:00"}  # fmt: skip
    response = await intake.put("/v1/devices/iris-1", json=device, headers=bearer(tokens.operator))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "public_key"


async def test_visits_are_listed_newest_first_a_page_at_a_time(
    intake: httpx.AsyncClient, tokens: Tokens
) -> None:
    ids = []
    for _ in range(5):
        created = await intake.post(
            "/v1/visits", json=a_home_visit(), headers=bearer(tokens.agency)
        )
        ids.append(created.json()["visit_id"])
    seen, cursor = [], None
    while True:
        params: dict[str, str | int] = {"limit": 2, "venue_type": "home"}
        if cursor:
            params["cursor"] = cursor
        page = (
            await intake.get("/v1/visits", params=params, headers=bearer(tokens.operator))
        ).json()
        seen += [v["visit_id"] for v in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))


async def test_health_readiness_metrics_and_openapi_are_served(intake: httpx.AsyncClient) -> None:
    assert (await intake.get("/healthz")).status_code == 200
    ready = await intake.get("/readyz")
    checks = {"nats": True, "postgres": True, "consumers": True}
    assert ready.json() == {"ready": True, "checks": checks}
    metrics = (await intake.get("/metrics")).text
    assert "ots_outbox_published_total" in metrics
    assert 'route="/readyz"' in metrics
    assert "/v1/visits" in (await intake.get("/openapi.json")).json()["paths"]
    assert (await intake.get("/docs")).status_code == 200


async def test_concurrent_requests_for_one_person_accept_exactly_one(
    intake: httpx.AsyncClient, tokens: Tokens
) -> None:
    body = a_home_visit()
    answers = await asyncio.gather(
        *(intake.post("/v1/visits", json=body, headers=bearer(tokens.operator)) for _ in range(12))
    )
    accepted = [a.json()["visit_id"] for a in answers if a.status_code == 201]
    refused = {a.json()["conflicting_visit_id"] for a in answers if a.status_code == 409}
    assert len(accepted) == 1
    assert refused == set(accepted)


async def test_concurrent_retries_with_one_idempotency_key_create_one_visit(
    intake: httpx.AsyncClient, tokens: Tokens, nc: Client
) -> None:
    headers = bearer(tokens.agency) | {"Idempotency-Key": "retry-storm"}
    body = a_home_visit()
    answers = await asyncio.gather(
        *(intake.post("/v1/visits", json=body, headers=headers) for _ in range(12))
    )
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["visit_id"] for a in answers}) == 1
    assert len(await published(nc, "ots.visit.requested", expect=1)) == 1


async def test_readiness_is_503_while_a_consumer_is_down_and_200_once_it_is_restarted(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_loop = DurableBatch._fetch_and_handle
    broken = asyncio.Event()
    broken.set()

    async def loop_unless_broken(self: DurableBatch, stop: asyncio.Event) -> None:
        if broken.is_set():
            raise ConnectionError("an ack on a closed connection")
        await real_loop(self, stop)

    monkeypatch.setattr(DurableBatch, "_fetch_and_handle", loop_unless_broken)
    async with serving(create_app(settings, intake_config())) as intake:
        answer = await readiness(intake, 503, within=10)
        assert answer.json()["checks"]["consumers"] is False
        broken.clear()
        answer = await readiness(intake, 200, within=30)
        assert answer.json()["checks"]["consumers"] is True


async def readiness(service: httpx.AsyncClient, status: int, within: float) -> httpx.Response:
    async with asyncio.timeout(within):
        while (answer := await service.get("/readyz")).status_code != status:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    return answer


async def _scheduled(intake: httpx.AsyncClient, tokens: Tokens, nc: Client) -> str:
    created = await intake.post("/v1/visits", json=a_home_visit(), headers=bearer(tokens.agency))
    visit_id: str = created.json()["visit_id"]
    scheduled = VisitScheduled(
        visit_id=visit_id, team_id="team-07", date=datetime.now(WIB).date(), eta=datetime.now(UTC),
        service_minutes=45, plan_revision=1,
    )  # fmt: skip
    await emit(nc.jetstream(), VISIT_SCHEDULED, scheduled, visit_id)

    async def is_scheduled() -> bool:
        got = await intake.get(f"/v1/visits/{visit_id}", headers=bearer(tokens.operator))
        return bool(got.json()["status"] == "scheduled")

    await eventually(is_scheduled)
    return visit_id


async def test_an_operator_closes_a_visit_and_recording_completes_it(
    intake: httpx.AsyncClient, tokens: Tokens, nc: Client, settings: Settings
) -> None:
    visit_id = await _scheduled(intake, tokens, nc)
    path = f"/v1/visits/{visit_id}"
    for token in (tokens.agency, tokens.viewer):
        refused = await intake.post(f"{path}/close", json={"reason": "x"}, headers=bearer(token))
        assert refused.status_code == 403
    unknown = await intake.post(
        "/v1/visits/v-unknown/close", json={"reason": "x"}, headers=bearer(tokens.operator)
    )
    assert unknown.status_code == 404

    recording = create_recording_app(
        settings.model_copy(update={"recording_port": 0}), recording_config()
    )
    async with serving(recording):
        closed = await intake.post(
            f"{path}/close", json={"reason": "tablet lost"}, headers=bearer(tokens.operator)
        )
        assert closed.status_code == 202, closed.text
        assert closed.json()["close_requested"] is True
        [request] = await published(nc, "ots.visit.close-requested", expect=1)
        assert request["data"]["visit_id"] == visit_id
        assert request["data"]["reason"] == "tablet lost"
        assert request["data"]["requested_by"] == "dispendukcapil"
        [completed] = await published(nc, "ots.visit.completed", expect=1)
        assert completed["data"]["visit_id"] == visit_id
        assert (completed["data"]["people_recorded"], completed["data"]["people_absent"]) == (0, 1)

        async def is_completed() -> bool:
            got = await intake.get(path, headers=bearer(tokens.operator))
            return bool(got.json()["status"] == "completed")

        await eventually(is_completed)
    again = await intake.post(
        f"{path}/close", json={"reason": "x"}, headers=bearer(tokens.operator)
    )
    assert again.status_code == 409
    history = (await intake.get(path, headers=bearer(tokens.operator))).json()["history"]
    assert {"type": "ots.visit.close-requested.v1", "reason": "tablet lost"}.items() <= next(
        h for h in history if h["type"] == "ots.visit.close-requested.v1"
    ).items()


async def test_a_cancelled_or_unscheduled_visit_cannot_be_closed(
    intake: httpx.AsyncClient, tokens: Tokens
) -> None:
    created = await intake.post("/v1/visits", json=a_home_visit(), headers=bearer(tokens.agency))
    path = f"/v1/visits/{created.json()['visit_id']}"
    requested = await intake.post(
        f"{path}/close", json={"reason": "x"}, headers=bearer(tokens.operator)
    )
    assert requested.status_code == 409
    await intake.post(f"{path}/cancel", json={"reason": "moved"}, headers=bearer(tokens.agency))
    cancelled = await intake.post(
        f"{path}/close", json={"reason": "x"}, headers=bearer(tokens.operator)
    )
    assert cancelled.status_code == 409 and "cancelled" in cancelled.json()["detail"]
