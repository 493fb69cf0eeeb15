"""The web interface in a real headless Chromium against the app served by uvicorn."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api.conftest import TOKEN, make_episode, make_order, seed
from tests.api.dashboard_support import PHONE, chromium, new_page, served, sign_in

pytestmark = pytest.mark.integration

#: The smallest comfortable touch target (WCAG 2.5.8 asks for at least 24 CSS px).
MIN_TOUCH_TARGET_PX = 24
#: How far the page is wider than the screen (CSS px); > 0 means sideways scrolling.
OVERFLOW_JS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
STEEL = {
    "building_id": "b-steel-1",
    "grid_id": "steel-1",
    "community_id": "steel",
    "team_id": "t-steel-1",
}


@pytest.fixture
async def base_url(make_app: Callable[..., FastAPI]) -> AsyncIterator[str]:
    async with served(make_app()) as url:
        yield url


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as browser:
        yield browser


@pytest.fixture
async def page(browser: Browser, base_url: str) -> AsyncIterator[Page]:
    # Depends on base_url so the page (and its live stream) closes before the server stops.
    async with new_page(browser) as page:
        yield page


def tile(page: Page, tile_id: str) -> object:
    return page.locator(f'.tile[data-tile-id="{tile_id}"]')


async def test_board_colours_tiles_and_clicks_through_to_a_device(
    page: Page, base_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed(
        sessions,
        make_order(device_id="pipe-2", fault_code="burst", severity="critical", **STEEL),
        make_episode("pipe-2", "burst", severity="critical"),
        make_episode("shed-1", "offline", severity="major"),
    )
    await sign_in(page, base_url, TOKEN)
    steel = page.locator('.tile[data-tile-id="steel"]')
    await expect(steel).to_have_attribute("data-colour", "red")
    await expect(steel).to_contain_text("Special Steel")
    await expect(steel).to_contain_text("alarm")  # colour is also spelled out
    await expect(page.locator('.tile[data-tile-id="sunshine"]')).to_have_attribute(
        "data-colour", "yellow"
    )
    await expect(page.locator('.tile[data-kind="grid"]')).to_have_count(3)
    await expect(page.locator("svg circle.mark")).to_have_count(3)
    await expect(page.locator("#site-name")).to_have_text("Xincheng Subdistrict")

    await steel.click()
    await expect(page).to_have_url(f"{base_url}#/board/community/steel")
    await expect(page.locator('.tile[data-kind="grid"]')).to_have_count(1)
    await page.locator('.tile[data-tile-id="steel-1"]').click()
    await page.locator('.tile[data-tile-id="b-steel-1"]').click()
    await expect(page.locator(".device-list li")).to_have_count(2)
    await expect(page.locator(".device-list li", has_text="Riser 2")).to_contain_text("fault")
    await page.get_by_role("link", name="Riser 2").click()
    await expect(page.get_by_role("heading", name="Riser 2")).to_be_visible()
    await expect(page.locator(".facts")).to_contain_text("burst")


async def test_chinese_is_the_default_and_the_toggle_switches(
    browser: Browser, base_url: str
) -> None:
    async with new_page(browser, language=None) as page:
        await page.goto(base_url)
        await expect(page.get_by_label("管理员令牌")).to_be_visible()
        await page.get_by_label("管理员令牌").fill(TOKEN)
        await page.get_by_role("button", name="登录").click()
        await expect(page.get_by_role("link", name="街道看板")).to_be_visible()
        await expect(page.locator('.tile[data-tile-id="steel"]')).to_contain_text("正常")
        await page.get_by_role("button", name="English").click()
        await expect(page.get_by_role("link", name="Street board")).to_be_visible()
        await expect(page.locator('.tile[data-tile-id="steel"]')).to_contain_text("all well")
        assert await page.evaluate("document.documentElement.lang") == "en"


async def test_crew_member_acknowledges_nearest_deadline_first_and_sees_409_in_words(
    page: Page, base_url: str, sessions: async_sessionmaker[AsyncSession], client: httpx.AsyncClient
) -> None:
    now = datetime.now(UTC)
    await seed(
        sessions,
        make_order(
            device_id="light-1", fault_code="lamp_failure", ack_due_at=now + timedelta(hours=2)
        ),
        make_order(
            device_id="pipe-1",
            fault_code="leak",
            severity="major",
            ack_due_at=now + timedelta(minutes=10),
        ),
        make_order(device_id="pipe-2", fault_code="leak", assignee="member-steel-1", **STEEL),
    )
    # The page must stay stale for the 409 below: no live stream, and timers only when told.
    await page.route("**/api/v1/stream", lambda route: route.abort())
    await page.clock.install()
    await sign_in(page, base_url, TOKEN, route="#/crew")
    await page.get_by_label("I am").select_option("member-sun-1")
    cards = page.locator("article.order")
    await expect(cards).to_have_count(2)
    await expect(cards.nth(0)).to_contain_text("leak · Riser 1")  # due in 10 min comes first
    await expect(cards.nth(1)).to_contain_text("lamp failure · Stair light 1")

    first_id = await cards.nth(0).get_attribute("data-order-id")
    other_id = await cards.nth(1).get_attribute("data-order-id")
    first = page.locator(f'article.order[data-order-id="{first_id}"]')
    other = page.locator(f'article.order[data-order-id="{other_id}"]')
    await first.get_by_label("Note").fill("on my way")
    await first.get_by_role("button", name="Acknowledge").click()
    await expect(first).to_have_attribute("data-status", "acknowledged")
    await expect(page.get_by_role("status")).to_contain_text("Sent: Acknowledge")
    history = (await client.get(f"/api/v1/workorders/{first_id}/history")).json()
    assert history[-1]["note"] == "on my way"
    assert history[-1]["on_behalf_of"] == "member-sun-1"

    # Someone else acknowledges the other order meanwhile: the stale button answers in words.
    assert (await client.post(f"/api/v1/workorders/{other_id}/ack", json={})).status_code == 200
    await other.get_by_role("button", name="Acknowledge").click()
    await expect(page.get_by_role("alert")).to_contain_text(
        f"Order #{other_id} was already handled"
    )
    await expect(other).to_have_attribute("data-status", "acknowledged")


async def test_ledger_filters_and_downloads_csv(
    page: Page, base_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed(
        sessions,
        make_order(device_id="light-1", fault_code="lamp_failure"),
        make_order(device_id="pipe-2", fault_code="leak", tier="community", **STEEL),
        make_order(
            device_id="light-2", fault_code="no_power", status="closed", open_key=None, **STEEL
        ),
    )
    await sign_in(page, base_url, TOKEN, route="#/ledger")
    rows = page.locator("#ledger-table tbody tr")
    await expect(rows).to_have_count(3)
    await page.get_by_label("Tier").select_option("community")
    await expect(rows).to_have_count(1)
    await expect(rows.nth(0)).to_contain_text("Riser 2")
    await expect(rows.nth(0)).to_contain_text("Building of Steel grid 1")
    await expect(page.locator("#ledger-count")).to_have_text("Showing 1 of 1")

    async with page.expect_download() as info:
        await page.get_by_role("button", name="Download CSV").click()
    download = await info.value
    assert download.suggested_filename == "workorders.csv"
    path = await download.path()
    rows_csv = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert [(r["device_id"], r["tier"]) for r in rows_csv] == [("pipe-2", "community")]


async def test_wrong_token_returns_to_sign_in_with_a_message(page: Page, base_url: str) -> None:
    await sign_in(page, base_url, TOKEN + "-wrong")
    await expect(page.get_by_role("alert")).to_contain_text("invalid bearer token")
    await expect(page.get_by_label("Admin token")).to_be_visible()
    assert await page.evaluate("sessionStorage.length") == 0


async def test_sign_out_forgets_the_token(page: Page, base_url: str) -> None:
    await sign_in(page, base_url, TOKEN)
    await expect(page.locator('.tile[data-kind="community"]')).to_have_count(2)
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_label("Admin token")).to_be_visible()
    assert await page.evaluate("sessionStorage.length") == 0


async def test_a_notification_link_opens_the_crew_view_at_its_order_on_a_phone(
    browser: Browser, base_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed(
        sessions,
        make_order(device_id="light-1", fault_code="lamp_failure"),
        make_order(device_id="pipe-1", fault_code="leak"),
    )
    async with new_page(browser, viewport=PHONE) as page:
        await sign_in(page, base_url, TOKEN, route="#/crew/member-sun-1/2")
        await expect(page.locator("article.order")).to_have_count(2)
        await expect(page.locator("article.order.linked")).to_have_attribute("data-order-id", "2")
        await expect(page.get_by_label("I am")).to_have_value("member-sun-1")
        # Usable on the phone: nothing wider than the screen, buttons big enough for a thumb.
        assert await page.evaluate(OVERFLOW_JS) <= 0
        button = await page.get_by_role("button", name="Acknowledge").first.bounding_box()
        assert button is not None and button["height"] >= MIN_TOUCH_TARGET_PX
        await page.get_by_role("link", name="Street board").click()
        await expect(page.locator('.tile[data-kind="grid"]')).to_have_count(3)
        assert await page.evaluate(OVERFLOW_JS) <= 0
