"""Intake refuses what no field may hold, binds an agency's requests to its token, and never lets
one bad request fail the others committed with it."""

import asyncio
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from nats.aio.client import Client

from contracts.enums import AgencyType, Priority, ServiceType, VenueType
from contracts.events import Window
from contracts.jember import WIB
from services.intake.domain.request import NewRequester, NewResident, NewVenue, NewVisit
from services.intake.tokens import Principal, Role
from services.intake.visit_writer import VisitWriter, visit_item
from tests.integration.intake_fixtures import Tokens, bearer, intake, tokens
from tests.support.events import published
from tests.support.requests import a_home_visit, a_nik, a_team

__all__ = ["intake", "tokens"]


def a_resident(name: str = "Siti Aminah") -> dict[str, Any]:
    return {"nik": a_nik(day=52), "name": name, "needs": ["bedridden"]}


def fields_of(response: httpx.Response) -> set[str]:
    return {e["field"] for e in response.json()["errors"]}


async def test_an_agency_requests_as_itself_whatever_the_body_claims(
    intake: httpx.AsyncClient, tokens: Tokens, nc: Client, db: asyncpg.Pool
) -> None:
    body = a_home_visit(requester={"agency_type": "dinsos", "agency_name": "Dispendukcapil"})
    created = await intake.post("/v1/visits", json=body, headers=bearer(tokens.agency))
    assert created.status_code == 201, created.text

    [event] = await published(nc, "ots.visit.requested", expect=1)
    assert event["data"]["requester"] == {
        "agency_type": "dinsos",
        "agency_name": "Dinas Sosial Jember",
    }
    assert "Dispendukcapil" not in str(event["data"])


async def test_an_agency_may_not_pass_for_the_department(
    intake: httpx.AsyncClient, tokens: Tokens
) -> None:
    body = a_home_visit(
        requester={"agency_type": "dispendukcapil", "agency_name": "Dispendukcapil"}
    )
    refused = await intake.post("/v1/visits", json=body, headers=bearer(tokens.agency))
    assert refused.status_code == 403


async def test_an_operator_names_any_requester(
    intake: httpx.AsyncClient, tokens: Tokens, nc: Client
) -> None:
    requester = {"agency_type": "school", "agency_name": "SMAN 1 Jember"}
    created = await intake.post(
        "/v1/visits", json=a_home_visit(requester=requester), headers=bearer(tokens.operator)
    )
    assert created.status_code == 201, created.text
    [event] = await published(nc, "ots.visit.requested", expect=1)
    assert event["data"]["requester"] == requester


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"residents": [a_resident("Siti\u0000Aminah")]}, "residents.0.name"),
        ({"requester": {"agency_type": "dinsos", "agency_name": "Din\u0007sos"}},
         "requester.agency_name"),
        ({"venue": {"type": "home", "name": "Rumah\tIbu", "kecamatan_code": "350901",
                    "lat": -8.27, "lon": 113.45}}, "venue.name"),
        ({"venue": {"type": "home", "name": "Rumah", "address": "Jl. \u001b[31m",
                    "kecamatan_code": "350901", "lat": -8.27, "lon": 113.45}}, "venue.address"),
    ],
)  # fmt: skip
async def test_a_control_character_in_a_text_field_is_422_naming_it(
    intake: httpx.AsyncClient, tokens: Tokens, override: dict[str, Any], field: str
) -> None:
    response = await intake.post(
        "/v1/visits", json=a_home_visit(**override), headers=bearer(tokens.operator)
    )
    assert response.status_code == 422, response.text
    assert fields_of(response) == {field}
    assert "control characters" in response.text


async def test_free_text_keeps_its_line_breaks_and_names_their_spaces(
    intake: httpx.AsyncClient, tokens: Tokens
) -> None:
    venue = {"type": "home", "name": "Rumah Ibu Siti", "address": "Jl. Kenanga 3\nJombang\t(RT 2)",
             "kecamatan_code": "350901", "lat": -8.27, "lon": 113.45}  # fmt: skip
    created = await intake.post(
        "/v1/visits", json=a_home_visit(venue=venue), headers=bearer(tokens.operator)
    )
    assert created.status_code == 201, created.text


async def test_a_nul_request_fails_alone_among_concurrent_good_ones(
    intake: httpx.AsyncClient, tokens: Tokens
) -> None:
    bad = a_home_visit(residents=[a_resident("Siti\u0000")])
    goods = [a_home_visit(residents=[a_resident()]) for _ in range(6)]
    responses = await asyncio.gather(*(
        intake.post("/v1/visits", json=body, headers=bearer(tokens.operator))
        for body in [goods[0], goods[1], goods[2], bad, goods[3], goods[4], goods[5]]
    ))  # fmt: skip
    assert [r.status_code for r in responses] == [201, 201, 201, 422, 201, 201, 201]


def unchecked_visit(name: str) -> NewVisit:
    """A request as no HTTP body could bring it: past validation, straight to the writer."""
    today = datetime.now(WIB).date()
    return NewVisit.model_construct(
        requester=NewRequester.model_construct(
            agency_type=AgencyType.DINSOS, agency_name="Dinas Sosial Jember"
        ),
        venue=NewVenue.model_construct(
            type=VenueType.HOME,
            name="Rumah",
            address="",
            kecamatan_code="350901",
            lat=-8.27,
            lon=113.45,
        ),
        services=[ServiceType.KTP_EL_RECORDING],
        residents=[NewResident.model_construct(nik=a_nik(day=52), name=name, needs=[])],
        expected_people=1,
        priority=Priority.NORMAL,
        priority_reasons=[],
        window=Window(earliest=today + timedelta(days=1), latest=today + timedelta(days=9)),
        fixed_start=None,
        duration_minutes=None,
    )


async def test_an_item_postgresql_refuses_never_fails_its_batch(db: asyncpg.Pool) -> None:
    writer = VisitWriter(db)
    who = Principal(Role.OPERATOR, "dispendukcapil")
    items = [visit_item(unchecked_visit(name), who, None) for name in ("A", "B\u0000", "C")]
    loop = asyncio.get_running_loop()
    batch = [(item, loop.create_future()) for item in items]
    # One batch, as the writer tasks make them from the queue.
    await writer._write(batch)
    first, bad, last = (done for _, done in batch)
    assert first.result()["outcome"] == "accepted"
    assert last.result()["outcome"] == "accepted"
    assert isinstance(bad.exception(), Exception)
    stored = await db.fetchval("SELECT count(*) FROM intake.visits")
    assert stored == 2


@pytest.mark.parametrize(
    "path",
    ["/v1/visits/a.b", "/v1/visits/a%00b", "/v1/visits/a%0Ab", "/v1/visits/a.b/cancel",
     "/v1/teams/t.1", "/v1/devices/d%00"],
)  # fmt: skip
async def test_a_path_id_no_id_can_be_is_422(
    intake: httpx.AsyncClient, tokens: Tokens, path: str
) -> None:
    headers = bearer(tokens.operator)
    if path.endswith("/cancel"):
        response = await intake.post(path, json={"reason": "x"}, headers=headers)
    elif path.startswith("/v1/visits"):
        response = await intake.get(path, headers=headers)
    else:
        response = await intake.put(path, json={}, headers=headers)
    assert response.status_code == 422, response.text
    assert any(f in fields_of(response) for f in ("visit_id", "team_id", "device_id"))


async def test_a_cancel_reason_with_a_nul_is_422(intake: httpx.AsyncClient, tokens: Tokens) -> None:
    created = await intake.post("/v1/visits", json=a_home_visit(), headers=bearer(tokens.operator))
    response = await intake.post(
        f"/v1/visits/{created.json()['visit_id']}/cancel", json={"reason": "x\u0000"},
        headers=bearer(tokens.operator),
    )  # fmt: skip
    assert response.status_code == 422
    assert fields_of(response) == {"reason"}


async def test_a_team_name_with_a_control_character_is_422(
    intake: httpx.AsyncClient, tokens: Tokens
) -> None:
    response = await intake.put(
        "/v1/teams/t1", json=a_team() | {"name": "Tim\u0000"}, headers=bearer(tokens.operator)
    )
    assert response.status_code == 422
    assert fields_of(response) == {"name"}
