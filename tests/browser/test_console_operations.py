"""What operators do in the console besides following visits: teams, devices, unassigned
visits, dead letters; and an agency cancelling its request."""

import asyncio
import base64
import os
import uuid
from datetime import datetime, timedelta

import asyncpg
from playwright.async_api import Locator, expect

from contracts.jember import WIB
from tests.browser.console import LIVE, Console
from tests.support.requests import a_home_visit


async def test_an_operator_adds_a_team_with_the_form_and_sees_a_refused_field_named(
    console: Console,
) -> None:
    async with console.signed_in("operator") as page:
        await page.goto(f"{console.url}/teams")
        await page.fill("#team_id", "tim-ambulu")
        await page.fill("#name", "Tim Ambulu")
        await page.fill("#base-lat", "-6.2")  # Jakarta, not Jember
        await page.fill("#base-lon", "106.8")
        await page.check("input[name='kits'][value='biometric']")
        await page.click("form.card button[type='submit']")
        await expect(page.locator("#base-error")).not_to_be_empty()

        await page.fill("#base-lat", "-8.34")
        await page.fill("#base-lon", "113.61")
        await page.click("form.card button[type='submit']")
        await expect(page.locator(".cards li", has_text="tim-ambulu")).to_contain_text(
            "Peralatan biometrik"
        )
    teams = (await console.api("GET", "/v1/teams")).json()
    [ambulu] = [t for t in teams if t["team_id"] == "tim-ambulu"]
    assert ambulu["base"] == {"lat": -8.34, "lon": 113.61}


async def test_an_operator_enrols_a_device_and_revokes_it(console: Console) -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    async with console.signed_in("operator") as page:
        await page.goto(f"{console.url}/devices")
        await page.fill("#device_id", "gw-cadangan-01")
        await page.select_option("#team_id", "tim-kaliwates")
        await page.select_option("#kind", "gateway")
        await page.fill("#public_key", "not base64!")
        await page.click("form.card button[type='submit']")
        await expect(page.locator("#public_key-error")).to_contain_text("base64")

        await page.fill("#public_key", key)
        await page.click("form.card button[type='submit']")
        device = page.locator(".cards li", has_text="gw-cadangan-01")
        await expect(device).to_contain_text("Terdaftar")

        await page.fill("#device_id", "gw-cadangan-01")
        await page.select_option("#team_id", "tim-kaliwates")
        await page.fill("#public_key", key)
        await page.check("input[name='revoked']")
        await page.click("form.card button[type='submit']")
        await expect(device).to_contain_text("Dicabut")


async def test_an_unassigned_visit_is_listed_with_its_reason_in_plain_words(
    console: Console,
) -> None:
    school = a_home_visit(residents=[], expected_people=30, priority="normal",
                          priority_reasons=[], services=["ktp_el_print"])  # fmt: skip
    school["venue"] |= {"type": "school", "name": "SMAN 1 Jember", "kecamatan_code": "350919",
                        "lat": -8.17, "lon": 113.69}  # fmt: skip
    visit_id = (await console.api("POST", "/v1/visits", school)).json()["visit_id"]
    async with console.signed_in("operator") as page:
        await page.goto(f"{console.url}/visits/{visit_id}")
        await expect(page.locator("#visit-status")).to_have_text("Belum terjadwal", timeout=LIVE)
        await expect(page.locator(".timeline")).to_contain_text(
            "Tidak ada tim yang membawa peralatan untuk layanan ini."
        )
        await page.goto(f"{console.url}/unassigned")
        await expect(page.locator(f"li:has(a[href='/console/visits/{visit_id}'])")).to_contain_text(
            "Tidak ada tim yang membawa peralatan untuk layanan ini."
        )


async def test_the_dead_letters_page_counts_what_could_not_be_processed_and_why(
    console: Console,
) -> None:
    await console.nc.jetstream().publish(
        "ots.visit.scheduled", b"not a cloud event", headers={"Nats-Msg-Id": str(uuid.uuid4())}
    )
    async with console.signed_in("operator") as page:
        intake = page.locator(".cards li", has_text="intake")
        for _ in range(60):  # intake dead-letters it once it has tried it
            await page.goto(f"{console.url}/dead-letters")
            if await intake.count():
                break
            await asyncio.sleep(0.5)
        await expect(page.locator("main")).to_contain_text("pesan tidak dapat diproses")
        await expect(page.locator("main h2")).to_have_text("Alasan")
        await expect(page.locator("main code").first).not_to_be_empty()
        await console.screenshot(page, "dead-letters")


async def test_an_agency_cancels_its_request_with_a_reason(console: Console) -> None:
    body = a_home_visit()
    body["requester"]["agency_name"] = "ignored: the token's agency is the requester"
    async with console.signed_in("agency") as page:
        visit_id = (await console.api_as("agency", "POST", "/v1/visits", body)).json()["visit_id"]
        await page.goto(f"{console.url}/visits/{visit_id}")
        await page.fill("#reason", "Warga sudah datang sendiri ke kantor")
        await page.click("#cancel-section button[type='submit']")
        await expect(page.locator("#visit-status")).to_have_text("Dibatalkan")
        await expect(page.locator(".timeline")).to_contain_text(
            "Dibatalkan: Warga sudah datang sendiri ke kantor"
        )
        await expect(page.locator("#cancel-section")).to_have_count(0)


async def planning_versions(console: Console) -> tuple[int, int]:
    """Dispatch's view version and the version its last plan was made from."""
    conn = await asyncpg.connect(console.system.settings.database_url)
    try:
        row = await conn.fetchrow("SELECT dirty_version, planned_version FROM dispatch.planning")
    finally:
        await conn.close()
    return int(row["dirty_version"]), int(row["planned_version"])


async def test_an_operator_asks_dispatch_to_plan_again_and_a_viewer_cannot(
    console: Console,
) -> None:
    asked_before, _ = await planning_versions(console)
    async with console.signed_in("operator") as page:
        await page.goto(f"{console.url}/unassigned")
        await page.click("form.replan button[type='submit']")
        await page.wait_for_url(f"{console.url}/unassigned?replanning=1")
        await expect(page.locator("#replan-status")).to_contain_text(
            "Penugasan sedang direncanakan ulang"
        )
    for _ in range(120):  # whichever planner is free plans the new version
        asked, planned = await planning_versions(console)
        if planned >= asked > asked_before:
            break
        await asyncio.sleep(0.5)
    assert planned >= asked > asked_before

    async with console.signed_in("viewer") as page:
        await page.goto(f"{console.url}/unassigned")
        await expect(page.locator("form.replan")).to_have_count(0)
        refused = await page.request.post(f"{console.url}/unassigned/replan", form={})
        assert refused.status == 403
    async with console.signed_in("operator") as page:
        forged = await page.request.post(f"{console.url}/unassigned/replan",
                                         form={"csrf_token": "forged"})  # fmt: skip
        assert forged.status == 403
        assert "Formulir ini tidak dikirim dari sesi Anda" in await forged.text()
    assert (await planning_versions(console))[0] == asked


async def scheduled_day(console: Console, visit_id: str) -> str:
    for _ in range(LIVE // 500):
        visit = (await console.api("GET", f"/v1/visits/{visit_id}")).json()
        if visit["status"] == "scheduled":
            return str(visit["date"])
        await asyncio.sleep(0.5)
    raise AssertionError(f"{visit_id} was not scheduled: {visit['status']}")


async def test_the_route_map_draws_each_kecamatan_at_the_centroid_of_its_requested_venues(
    console: Console,
) -> None:
    """Two homes in Arjasa, where no other test requests: Arjasa's point is halfway between
    them, as the map projects a degree the same way everywhere."""
    tomorrow = (datetime.now(WIB).date() + timedelta(days=1)).isoformat()
    homes = []
    for name, lat, lon in (("Rumah Pak Darto", -8.11, 113.73), ("Rumah Bu Sri", -8.13, 113.75)):
        body = a_home_visit(window={"earliest": tomorrow, "latest": tomorrow})
        body["venue"] |= {"name": name, "kecamatan_code": "350922", "lat": lat, "lon": lon}
        homes.append((await console.api("POST", "/v1/visits", body)).json()["visit_id"])
    assert {await scheduled_day(console, v) for v in homes} == {tomorrow}

    async with console.signed_in("operator") as page:
        await page.goto(f"{console.url}/routes?date={tomorrow}")
        route = page.locator("section.route", has_text="tim-kaliwates")
        arjasa = route.locator("svg.map g.kecamatan", has_text="Arjasa")
        await expect(arjasa).to_have_count(1)
        await expect(route.locator("figcaption")).to_contain_text(
            "titik tengah (sentroid) tempat-tempat kunjungan yang diajukan"
        )
        stops = [route.locator("svg.map g.stop", has_text=name).locator("circle")
                 for name in ("Rumah Pak Darto", "Rumah Bu Sri")]  # fmt: skip
        centres = [await centre_of(stop) for stop in stops]
        point = await centre_of(arjasa.locator("circle"))
        await console.screenshot(page, "routes-kecamatan")
    halfway = ((centres[0][0] + centres[1][0]) / 2, (centres[0][1] + centres[1][1]) / 2)
    assert abs(point[0] - halfway[0]) <= 0.2 and abs(point[1] - halfway[1]) <= 0.2


async def centre_of(circle: Locator) -> tuple[float, float]:
    return float(await circle.get_attribute("cx") or "nan"), float(
        await circle.get_attribute("cy") or "nan"
    )
