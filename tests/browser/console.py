"""The console as the tests use it: signed-in browser pages per role, and the system's other
actors (an operator's API calls, a team's tablet) to move a visit along."""

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from nats.aio.client import Client
from playwright.async_api import Browser, BrowserContext, Page

from ots.simulate.tablet import SimulatedDevice, publish
from ots_runtime.auth import Role
from ots_runtime.broker import connect
from tests.support.e2e_system import System
from tests.support.tokens import signed_token

TEAM_ID = "tim-kaliwates"
DEVICE_ID = "gw-kaliwates-01"
AGENCY = "Dinas Sosial Jember"
OTHER_AGENCY = "Kecamatan Kencong"
AXE = Path(__file__).with_name("axe-4.11.0.min.js")
SCREENSHOTS = os.environ.get("OTS_CONSOLE_SCREENSHOTS")
"""A directory to save the main pages' screenshots in (the README's come from `docs`)."""
PHONE = {"width": 360, "height": 740}
LIVE = 90_000
"""Milliseconds a page may wait for the system to move a visit (dispatch, recording)."""


@dataclass
class Console:
    system: System
    browser: Browser
    nc: Client
    device: SimulatedDevice
    tokens: dict[str, str]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.system.ports['intake']}/console"

    @classmethod
    @contextlib.asynccontextmanager
    async def for_system(cls, system: System, browser: Browser) -> AsyncIterator["Console"]:
        tokens = {
            "operator": signed_token(Role.OPERATOR),
            "agency": signed_token(Role.AGENCY, AGENCY),
            "other_agency": signed_token(Role.AGENCY, OTHER_AGENCY),
            "viewer": signed_token(Role.VIEWER),
        }
        assert system.settings.nats_url
        nc = await connect(system.settings.nats_url, name="console-tests")
        console = cls(system, browser, nc, SimulatedDevice(DEVICE_ID), tokens)
        try:
            await console.a_team_with_its_tablet()
            yield console
        finally:
            await nc.close()

    async def api(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """Intake's API as the operator calls it."""
        return await self.api_as("operator", method, path, body)

    async def api_as(self, role: str, method: str, path: str, body: Any = None) -> httpx.Response:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.system.ports['intake']}",
                                     timeout=20) as client:  # fmt: skip
            reply = await client.request(
                method, path, json=body,
                headers={"Authorization": f"Bearer {self.tokens[role]}"},
            )  # fmt: skip
        assert reply.status_code < 300, reply.text
        return reply

    async def a_team_with_its_tablet(self) -> None:
        """One team working every day from Kaliwates, with the tablet that records for it."""
        await self.api("PUT", f"/v1/teams/{TEAM_ID}", {
            "name": "Tim Kaliwates", "base": {"lat": -8.17, "lon": 113.70},
            "kits": ["biometric", "document"], "shift": {"start": "00:00", "end": "23:59"},
            "working_days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "max_people_per_day": 40,
        })  # fmt: skip
        expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
        await self.api("PUT", f"/v1/devices/{DEVICE_ID}", {
            "team_id": TEAM_ID, "kind": "gateway", "public_key": self.device.public_key,
            "expires_at": expires,
        })  # fmt: skip

    async def record(self, visit_id: str, nik: str) -> None:
        """The team's tablet records the resident and closes the visit."""
        recording = self.device.full_recording(visit_id, nik, quality=85)
        await publish(self.nc.jetstream(), [*recording, self.device.visit_closed(visit_id)])

    @contextlib.asynccontextmanager
    async def signed_in(
        self, role: str, *, viewport: dict[str, int] | None = None, language: str = "id",
        axe: bool = False,
    ) -> AsyncIterator[Page]:  # fmt: skip
        """A fresh browser context whose person has signed in with their token."""
        context = await self.new_context(viewport=viewport, bypass_csp=axe)
        try:
            page = await context.new_page()
            if language != "id":
                await page.goto(f"{self.url}/language/{language}?back=/console/signin")
            await self.sign_in(page, self.tokens[role])
            yield page
        finally:
            await context.close()

    async def sign_in(self, page: Page, token: str) -> None:
        await page.goto(f"{self.url}/signin")
        await page.fill("#token", token)
        await page.press("#token", "Enter")
        await page.wait_for_url(f"{self.url}/visits")

    async def new_context(self, **options: Any) -> BrowserContext:
        """As a browser in Jember: Indonesian, on WIB."""
        return await self.browser.new_context(locale="id-ID", timezone_id="Asia/Jakarta", **options)

    async def screenshot(self, page: Page, name: str) -> None:
        if SCREENSHOTS:
            await asyncio.to_thread(Path(SCREENSHOTS).mkdir, parents=True, exist_ok=True)
            await page.screenshot(path=f"{SCREENSHOTS}/console-{name}.png", full_page=True)


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now."""
    await page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def overflows_horizontally(page: Page) -> bool:
    return bool(await page.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth + 1"
    ))  # fmt: skip
