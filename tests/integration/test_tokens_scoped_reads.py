"""Who sees what, on real NATS and PostgreSQL: operators everything; an agency its own visits,
enrollments and plan stops only; a viewer figures and statuses, NIKs masked to their last four
digits and no names; teams and devices the operators' only."""

from datetime import timedelta
from typing import Any

import httpx
from nats.aio.client import Client

from contracts.enums import AgencyType
from contracts.events import Requester, VisitRequested
from contracts.subjects import TEAM_UPDATED, VISIT_REQUESTED
from ots_runtime.auth import Role
from ots_runtime.settings import Settings
from services.dispatch.app import create_app as dispatch_app
from tests.integration.intake_fixtures import Tokens, bearer, intake, tokens
from tests.integration.test_dispatch_service import QUICK, clock, send, team, visit
from tests.integration.test_recording_fixtures import (  # noqa: F401 (fixtures)
    Scene,
    default_config,
    running_scene,
)
from tests.support.events import published
from tests.support.http_service import serving
from tests.support.requests import a_home_visit, a_team
from tests.support.tokens import signed_token

__all__ = ["intake", "tokens"]

SCHOOL = "SMAN 1 Jember"  # the requester of the recording scene's visit (ots.simulate.upstream)


async def test_a_viewer_sees_a_visits_status_and_figures_but_no_name_address_or_full_nik(
    intake: httpx.AsyncClient, tokens: Tokens
) -> None:
    body = a_home_visit()
    nik = body["residents"][0]["nik"]
    made = await intake.post("/v1/visits", json=body, headers=bearer(tokens.agency))
    path = f"/v1/visits/{made.json()['visit_id']}"
    full = (await intake.get(path, headers=bearer(tokens.operator))).json()
    seen = (await intake.get(path, headers=bearer(tokens.viewer))).json()
    assert full["request"]["residents"][0]["nik"] == nik
    assert seen["status"] == full["status"] == "requested"
    assert seen["request"]["residents"] == [{"nik": "*" * 12 + nik[-4:], "needs": ["bedridden"]}]
    assert seen["request"]["venue"] == {"type": "home", "kecamatan_code": "350901"}
    assert seen["request"]["expected_people"] == 1 and seen["request"]["priority"] == "high"
    shown = str(seen)
    for private in (nik, "Siti Aminah", "Rumah Ibu Siti", "Jl. Kenanga", "-8.27", "113.45"):
        assert private not in shown


async def test_teams_and_devices_are_listed_to_operators_only(
    intake: httpx.AsyncClient, tokens: Tokens
) -> None:
    put = await intake.put("/v1/teams/team-01", json=a_team(), headers=bearer(tokens.operator))
    assert put.status_code == 200
    for listing in ("/v1/teams", "/v1/devices"):
        assert (await intake.get(listing, headers=bearer(tokens.operator))).status_code == 200
        for token in (tokens.viewer, tokens.agency):
            refused = await intake.get(listing, headers=bearer(token))
            assert refused.status_code == 403, listing
            assert refused.headers["content-type"] == "application/problem+json"


def requested_by(visit_id: str, n: int, agency: str) -> VisitRequested:
    requester = Requester(agency_type=AgencyType.DINSOS, agency_name=agency)
    return visit(visit_id, n).model_copy(update={"requester": requester})


def stops(plans: dict[str, Any]) -> set[str]:
    return {stop["visit_id"] for route in plans["routes"] for stop in route["stops"]}


async def test_an_agency_sees_only_the_stops_of_its_own_visits_in_dispatchs_plans(
    settings: Settings, nc: Client
) -> None:
    async with serving(dispatch_app(settings, dispatch=QUICK, clock=clock)) as http:
        await send(nc, TEAM_UPDATED, team())
        await send(nc, VISIT_REQUESTED, requested_by("v-dinsos-1", 0, "Dinas Sosial Jember"))
        await send(nc, VISIT_REQUESTED, requested_by("v-dinsos-2", 1, "Dinas Sosial Jember"))
        await send(nc, VISIT_REQUESTED, requested_by("v-kencong", 2, "Kecamatan Kencong"))
        await published(nc, "ots.visit.scheduled", expect=3)

        async def plans(role: Role, agency: str) -> dict[str, Any]:
            answer = await http.get(
                "/v1/plans", params={"date": "2026-12-07"},
                headers=bearer(signed_token(role, agency)),
            )  # fmt: skip
            assert answer.status_code == 200, answer.text
            body: dict[str, Any] = answer.json()
            return body

        everything = await plans(Role.OPERATOR, "dispendukcapil")
        viewed = await plans(Role.VIEWER, "dispendukcapil")
        dinsos = await plans(Role.AGENCY, "Dinas Sosial Jember")
        kencong = await plans(Role.AGENCY, "Kecamatan Kencong")
        nobody = await plans(Role.AGENCY, "Kecamatan Puger")
    assert stops(everything) == stops(viewed) == {"v-dinsos-1", "v-dinsos-2", "v-kencong"}
    assert stops(dinsos) == {"v-dinsos-1", "v-dinsos-2"}
    assert stops(kencong) == {"v-kencong"}
    assert nobody["routes"] == []


async def test_enrollments_are_an_agencys_for_its_own_visits_and_masked_for_a_viewer(
    scene: Scene,
) -> None:
    path = f"/v1/visits/{scene.visit_id}/enrollments"

    async def read(role: Role, agency: str) -> httpx.Response:
        return await scene.http.get(path, headers=bearer(signed_token(role, agency)))

    own = await read(Role.AGENCY, SCHOOL)
    other = await read(Role.AGENCY, "Dinas Sosial Jember")
    viewed = await read(Role.VIEWER, "dispendukcapil")
    operator = await read(Role.OPERATOR, "dispendukcapil")
    assert own.status_code == operator.status_code == viewed.status_code == 200
    assert other.status_code == 404
    assert {p["nik"] for p in own.json()["people"]} == set(scene.niks)
    assert {p["nik"] for p in operator.json()["people"]} == set(scene.niks)
    assert {p["nik"] for p in viewed.json()["people"]} == {"*" * 12 + n[-4:] for n in scene.niks}
    assert [p["complete"] for p in viewed.json()["people"]] == [
        p["complete"] for p in operator.json()["people"]
    ]


async def test_recordings_enrollments_refuse_an_expired_or_non_ascii_token(scene: Scene) -> None:
    path = f"/v1/visits/{scene.visit_id}/enrollments"
    expired = signed_token(Role.OPERATOR, valid_for=timedelta(seconds=-1))
    stale = await scene.http.get(path, headers=bearer(expired))
    odd_header = {"Authorization": "Bearer ñandú".encode("latin-1")}
    odd = await scene.http.get(path, headers=odd_header)  # type: ignore[arg-type]
    assert stale.status_code == odd.status_code == 401
    assert "expired" in stale.json()["detail"]
