"""An agency requests a home visit in the console and follows it to completion; an operator
sees it on the team's route; another agency cannot see it; a viewer sees no NIK."""

import re

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.console import LIVE, Console
from tests.support.requests import a_home_visit, a_nik

WRONG_KECAMATAN_NIK = "3509990101900001"
NOT_JEMBER_IN_INDONESIAN = (
    "Kode kecamatan 350999 bukan salah satu dari 31 kecamatan Jember (350901 sampai 350931)."
)


async def request_a_home_visit(page: Page, console: Console, nik: str) -> None:
    await page.goto(f"{console.url}/request")
    await page.select_option("#venue-type", "home")
    await page.fill("#venue-name", "Rumah Ibu Siti")
    await page.fill("#venue-address", "Jl. Kenanga 3")
    await page.select_option("#venue-kecamatan_code", "350919")
    await page.fill("#venue-lat", "-8.18")
    await page.fill("#venue-lon", "113.68")
    await page.fill("#residents-0-nik", nik)
    await page.fill("#residents-0-name", "Siti Aminah")
    await page.check("input[name='residents.0.needs'][value='bedridden']")
    await page.select_option("#priority", "high")
    await page.check("input[name='priority_reasons'][value='bedridden']")


@pytest.mark.timeout(300)
async def test_an_agency_requests_a_visit_and_follows_it_until_it_is_completed(
    console: Console,
) -> None:
    good_nik = a_nik(day=52, kecamatan="350919")
    async with console.signed_in("agency") as agency:
        await request_a_home_visit(agency, console, WRONG_KECAMATAN_NIK)
        nik_error = agency.locator("#residents-0-nik-error")
        await expect(nik_error).to_have_text(NOT_JEMBER_IN_INDONESIAN)  # checked as typed
        await agency.click("button.primary")
        await expect(agency.locator("#error-summary")).to_be_visible()
        # the API's 422 names the rule by its code; the console says it in Bahasa Indonesia
        await expect(agency.locator("#residents-0-nik-error")).to_have_text(
            NOT_JEMBER_IN_INDONESIAN
        )
        await expect(agency.locator("#error-summary")).to_contain_text(
            f"NIK warga 1: {NOT_JEMBER_IN_INDONESIAN}"
        )
        await expect(agency.locator("#residents-0-nik")).to_have_attribute("aria-invalid", "true")
        await console.screenshot(agency, "request")

        await agency.fill("#residents-0-nik", good_nik)
        await expect(agency.locator("#residents-0-nik-error")).to_be_empty()
        await agency.click("button.primary")
        await agency.wait_for_url(re.compile(r"/console/visits/v-"))
        visit_id = agency.url.rsplit("/", 1)[1]

        status = agency.locator("#visit-status")
        await expect(status).to_have_text("Terjadwal", timeout=LIVE)  # no reload: htmx polls
        await expect(agency.locator(".timeline")).to_contain_text("tim tim-kaliwates")
        await console.screenshot(agency, "visit-scheduled")
        day = (await console.api("GET", f"/v1/visits/{visit_id}")).json()["date"]

        async with console.signed_in("operator") as operator:
            await operator.goto(f"{console.url}/routes?date={day}")
            route = operator.locator("section.route", has_text="tim-kaliwates")
            await expect(route.locator(".stops li", has_text="Rumah Ibu Siti")).to_have_count(1)
            await expect(route.locator("svg.map .stop circle")).to_have_count(1)
            await console.screenshot(operator, "routes")

        await console.record(visit_id, good_nik)
        await expect(status).to_have_text("Selesai", timeout=LIVE)
        await expect(agency.locator(".timeline")).to_contain_text("1 orang direkam, 0 tidak hadir")
        await expect(agency.locator("#cancel-section")).to_be_empty()  # nothing left to cancel
        await console.screenshot(agency, "visit-completed")

        await agency.goto(f"{console.url}/visits?status=completed")
        await expect(agency.locator(f"a[href='/console/visits/{visit_id}']")).to_have_count(1)
        await console.screenshot(agency, "visits")

    async with console.signed_in("other_agency") as other:
        reply = await other.goto(f"{console.url}/visits/{visit_id}")
        assert reply is not None and reply.status == 404
        await other.goto(f"{console.url}/visits")
        await expect(other.locator(f"a[href='/console/visits/{visit_id}']")).to_have_count(0)

    async with console.signed_in("viewer") as viewer:
        await viewer.goto(f"{console.url}/visits/{visit_id}")
        await expect(viewer.locator("#visit-status")).to_have_text("Selesai")
        assert good_nik not in await viewer.content()
        await expect(viewer.locator("code.nik")).to_contain_text(good_nik[-4:])


async def test_the_api_names_each_broken_rule_by_a_code_the_console_translates(
    console: Console,
) -> None:
    wrong_nik = a_home_visit()
    wrong_nik["residents"][0]["nik"] = WRONG_KECAMATAN_NIK
    nobody = a_home_visit(expected_people=0)
    async with httpx.AsyncClient(base_url=console.url.removesuffix("/console")) as client:
        agency = {"Authorization": f"Bearer {console.tokens['agency']}"}
        by_the_rules = await client.post("/v1/visits", json=wrong_nik, headers=agency)
        by_the_schema = await client.post("/v1/visits", json=nobody, headers=agency)
    assert by_the_rules.status_code == by_the_schema.status_code == 422
    [rule] = by_the_rules.json()["errors"]
    assert rule["field"] == "residents.0.nik"
    assert (rule["code"], rule["params"]) == ("nik_kecamatan_not_in_jember", {"region": "350999"})
    assert "350999" in rule["message"]  # the English words stay
    [schema] = by_the_schema.json()["errors"]
    assert schema["field"] == "expected_people"
    assert (schema["code"], schema["params"]) == ("greater_than_equal", {"ge": 1})
