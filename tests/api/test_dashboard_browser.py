"""The dashboard in a real headless Chromium against the app served by uvicorn."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, Page, async_playwright, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api.conftest import TOKEN, make_episode, make_order, seed

pytestmark = pytest.mark.integration

STARTUP_DEADLINE_S = 10.0
UI_TIMEOUT_MS = 10_000


@pytest.fixture
async def base_url(make_app: Callable[..., FastAPI]) -> AsyncIterator[str]:
    """The app served by uvicorn on a free loopback port."""
    config = uvicorn.Config(
        make_app(), host="127.0.0.1", port=0, lifespan="on", log_level="warning", ws="none"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(STARTUP_DEADLINE_S):
            while not server.started:
                if serving.done():
                    serving.result()
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        await serving


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    # The Debian chromium package when present, else Playwright's own download.
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox"]
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    # A controllable clock: the refresh timer fires when the test says, not after real seconds.
    await page.clock.install()
    try:
        yield page
    finally:
        await context.close()


async def sign_in(page: Page, base_url: str, token: str) -> None:
    await page.goto(base_url)
    await page.get_by_label("Admin token").fill(token)
    await page.get_by_role("button", name="Sign in").click()


async def test_board_shows_status_orders_and_counts_then_refreshes(
    page: Page, base_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed(
        sessions,
        make_episode("shed-1", "offline", severity="major"),
        make_episode("pipe-2", "leak", severity="major", minutes=1),
        make_order(
            device_id="pipe-2",
            fault_code="leak",
            building_id="b-steel-1",
            grid_id="steel-1",
            community_id="steel",
            team_id="t-steel-1",
        ),
        make_order(device_id="light-2", fault_code="no_power", status="closed", open_key=None),
    )
    await sign_in(page, base_url, TOKEN)

    devices = page.locator("#device-rows tr")
    await expect(devices).to_have_count(5)
    # Offline first, then faults, then the rest; status is coloured and spelled out.
    await expect(devices.nth(0).locator("td").nth(0)).to_have_text("offline")
    await expect(devices.nth(0).locator("td").nth(0)).to_have_class("status status-offline")
    await expect(devices.nth(0).locator("td").nth(1)).to_have_text("shed-1")
    await expect(devices.nth(1).locator("td").nth(0)).to_have_class("status status-fault")
    await expect(devices.nth(4).locator("td").nth(0)).to_have_class("status status-ok")
    await expect(page.locator("#site-name")).to_have_text("Xincheng Subdistrict, Feicheng")

    # Only the open order is listed; the closed one is not.
    orders = page.locator("#order-rows tr")
    await expect(orders).to_have_count(1)
    await expect(orders.nth(0)).to_contain_text("pipe-2")
    await expect(orders.nth(0)).to_contain_text("Team Steel grid 1")

    steel = page.locator("#community-rows tr", has_text="Special Steel")
    await expect(steel.locator("td")).to_have_text(["2", "1", "1", "0", "1"])

    # A new fault appears on the next refresh without reloading the page.
    await seed(sessions, make_episode("light-2", "offline", minutes=2))
    interval_ms = await page.evaluate("CONFIG.REFRESH_INTERVAL_MS")
    await page.clock.fast_forward(interval_ms)
    await expect(steel.locator("td")).to_have_text(["2", "0", "1", "1", "1"])
    await expect(page.locator("#last-update")).to_contain_text("Updated")


async def test_wrong_token_returns_to_sign_in_with_a_message(page: Page, base_url: str) -> None:
    await sign_in(page, base_url, TOKEN + "-wrong")
    await expect(page.get_by_role("alert")).to_contain_text("invalid bearer token")
    await expect(page.get_by_label("Admin token")).to_be_visible()
    assert await page.evaluate("sessionStorage.length") == 0


async def test_sign_out_forgets_the_token(page: Page, base_url: str) -> None:
    await sign_in(page, base_url, TOKEN)
    await expect(page.locator("#device-rows tr")).to_have_count(5)
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_label("Admin token")).to_be_visible()
    assert await page.evaluate("sessionStorage.length") == 0
