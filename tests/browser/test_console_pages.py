"""Every page of the console on a 360 px phone: no serious or critical axe-core violation, no
sideways scrolling; and the parts around the flows: keyboard use, language, sessions, forms."""

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.console import PHONE, Console, axe_violations, overflows_horizontally
from tests.support.requests import a_home_visit

OPERATOR_PAGES = ("visits", "request", "routes", "unassigned", "teams", "devices",
                  "dead-letters", "report")  # fmt: skip


@pytest.fixture(scope="module")
async def visit_id(console: Console) -> str:
    body = a_home_visit()
    body["venue"] |= {"kecamatan_code": "350919", "lat": -8.18, "lon": 113.68}
    return str((await console.api("POST", "/v1/visits", body)).json()["visit_id"])


@pytest.mark.timeout(240)
@pytest.mark.parametrize("language", ["id", "en"])
async def test_every_operator_page_is_accessible_and_fits_a_phone(
    console: Console, visit_id: str, language: str
) -> None:
    async with console.signed_in("operator", viewport=PHONE, language=language, axe=True) as page:
        for path in (*OPERATOR_PAGES, f"visits/{visit_id}"):
            reply = await page.goto(f"{console.url}/{path}")
            assert reply is not None and reply.status == 200, path
            assert await axe_violations(page) == [], path
            assert not await overflows_horizontally(page), path
            if language == "id" and path in ("request", f"visits/{visit_id}"):
                await console.screenshot(page, f"phone-{path.split('/')[0]}")


async def test_the_sign_in_page_is_accessible_and_fits_a_phone(console: Console) -> None:
    context = await console.new_context(viewport=PHONE, bypass_csp=True)
    try:
        page = await context.new_page()
        await page.goto(f"{console.url}/signin")
        assert await axe_violations(page) == []
        assert not await overflows_horizontally(page)
        await console.screenshot(page, "signin")
    finally:
        await context.close()


async def test_an_agency_signs_in_and_requests_with_the_keyboard_alone(console: Console) -> None:
    context = await console.new_context(viewport=PHONE)
    try:
        page = await context.new_page()
        await page.goto(f"{console.url}/signin")
        await page.keyboard.press("Tab")
        await expect(page.locator("a.skip")).to_be_focused()
        while not await page.locator("#token").evaluate("e => e === document.activeElement"):
            await page.keyboard.press("Tab")
        await page.keyboard.type(console.tokens["agency"])
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{console.url}/visits")
        for _ in range(30):
            await page.keyboard.press("Tab")
            if await page.evaluate("document.activeElement.getAttribute('href')") == (
                "/console/request"
            ):
                break
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{console.url}/request")
        await expect(page.locator("h1")).to_have_text("Ajukan kunjungan")
    finally:
        await context.close()


async def test_the_console_speaks_indonesian_until_english_is_chosen(console: Console) -> None:
    async with console.signed_in("agency") as page:
        await expect(page.locator("html")).to_have_attribute("lang", "id")
        await expect(page.locator("h1")).to_have_text("Kunjungan saya")
        await page.click("a[hreflang='en']")
        await expect(page.locator("h1")).to_have_text("My visits")
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await page.click("a[hreflang='id']")
        await expect(page.locator("h1")).to_have_text("Kunjungan saya")


async def test_the_session_cookie_is_httponly_and_strict_and_signing_out_ends_it(
    console: Console,
) -> None:
    async with console.signed_in("agency") as page:
        [cookie] = [c for c in await page.context.cookies() if c["name"] == "ots_session"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert console.tokens["agency"] not in cookie["value"]
        await page.click("header form button[type='submit']")
        await page.wait_for_url(f"{console.url}/signin")
        await page.goto(f"{console.url}/visits")
        await page.wait_for_url(f"{console.url}/signin")


async def test_a_wrong_token_is_refused_at_sign_in(console: Console) -> None:
    context = await console.new_context()
    try:
        page = await context.new_page()
        await page.goto(f"{console.url}/signin")
        await page.fill("#token", "not-a-token")
        await page.press("#token", "Enter")
        await expect(page.locator("#token-error")).to_have_text(
            "Token ini tidak sah atau sudah dicabut."
        )
    finally:
        await context.close()


async def test_a_form_without_the_sessions_csrf_token_changes_nothing(
    console: Console, visit_id: str
) -> None:
    async with console.signed_in("operator") as page:
        cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    async with httpx.AsyncClient(cookies=cookies, timeout=20) as client:
        reply = await client.post(
            f"{console.url}/visits/{visit_id}/cancel",
            data={"reason": "forged", "csrf_token": "0" * 64},
        )
    assert reply.status_code == 403
    visit = (await console.api("GET", f"/v1/visits/{visit_id}")).json()
    assert visit["status"] != "cancelled"


async def test_an_agency_cannot_open_the_operators_pages(console: Console) -> None:
    async with console.signed_in("agency") as page:
        for path in ("routes", "teams", "devices", "dead-letters", "report"):
            reply = await page.goto(f"{console.url}/{path}")
            assert reply is not None and reply.status == 403, path
        await expect(page.locator("nav a[href='/console/routes']")).to_have_count(0)


async def test_a_viewer_follows_the_work_but_manages_no_team_or_device(console: Console) -> None:
    async with console.signed_in("viewer") as page:
        for path in ("teams", "devices", "request"):
            reply = await page.goto(f"{console.url}/{path}")
            assert reply is not None and reply.status == 403, path
        for path in ("visits", "routes", "unassigned", "report"):
            reply = await page.goto(f"{console.url}/{path}")
            assert reply is not None and reply.status == 200, path
        await expect(page.locator("nav a[href='/console/teams']")).to_have_count(0)


async def test_the_report_page_shows_the_chart_and_offers_the_csv(console: Console) -> None:
    async with console.signed_in("operator") as page:
        await page.goto(f"{console.url}/report")
        chart = page.locator("img.chart")
        await expect(chart).to_be_visible()
        assert await chart.evaluate("img => img.complete && img.naturalWidth > 0")
        async with page.expect_download() as download:
            await page.click("a[download]")
        assert (await download.value).suggested_filename.endswith(".csv")
        await console.screenshot(page, "report")
