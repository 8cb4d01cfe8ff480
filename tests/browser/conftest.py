"""Headless Chromium (Debian's `chromium`, driven by Playwright) against the whole system:
nats-server, PostgreSQL and the four services as separate processes (tests/support/e2e_system).

Playwright's own browser download is impossible here, so the browser is the system's
`chromium` (`apt-get install chromium`; `OTS_CHROMIUM` names another). Without it the tests
skip on a developer's machine and fail under CI=true."""

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Playwright, async_playwright

from tests.browser.console import Console
from tests.support.e2e_system import System, running_system

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser")


def chromium_path() -> str:
    named = os.environ.get("OTS_CHROMIUM")
    found = named or next(filter(None, map(shutil.which, CHROMIUM_CANDIDATES)), None)
    if found and Path(found).exists():
        return found
    message = "no chromium: apt-get install chromium (or set OTS_CHROMIUM)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="package")
def chromium() -> str:
    return chromium_path()


@pytest.fixture(scope="package")
async def playwright() -> AsyncIterator[Playwright]:
    async with async_playwright() as running:
        yield running


@pytest.fixture(scope="package")
async def browser(playwright: Playwright, chromium: str) -> AsyncIterator[Browser]:
    # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    launched = await playwright.chromium.launch(
        executable_path=chromium, headless=True, args=["--no-sandbox"]
    )
    yield launched
    await launched.close()


@pytest.fixture(scope="package")
async def system(chromium: str) -> AsyncIterator[System]:
    async with running_system() as running:
        yield running


@pytest.fixture(scope="package")
async def console(system: System, browser: Browser) -> AsyncIterator[Console]:
    async with Console.for_system(system, browser) as ready:
        yield ready
