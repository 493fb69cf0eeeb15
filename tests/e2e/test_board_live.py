"""The board live in Chromium: a fault published over real Mosquitto turns its grid's tile red
without a reload, and the assigned crew member acknowledges it from the crew view."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from api.app import create_app
from core.settings import BUNDLED_SITE, Settings
from fm.runner import GatewayProbe, alerts_intake, open_stores
from gateway.service import Gateway
from governance.loader import load_site
from governance.model import Site
from tests.api.dashboard_support import chromium, new_page, served, sign_in
from tests.e2e.helpers import mosquitto_pub

pytestmark = pytest.mark.integration

TOKEN = "e2e-board-token-0123456789"
GATEWAY_READY_S = 10.0
# Long enough for MQTT → gateway → alerts commit → outbox → SSE → the page's re-fetch.
LIVE_UPDATE_MS = 20_000
BURST = json.dumps({"code": "burst", "active": True, "detail": "main burst in the basement"})


@dataclass
class Live:
    """The running system, the URL of its web interface and the broker's port."""

    site: Site
    base_url: str
    mqtt_port: int


@pytest.fixture
async def live(mosquitto: Any, tmp_path: Path) -> AsyncIterator[Live]:
    settings = Settings(
        mqtt_url=mosquitto.url,
        data_dir=tmp_path,
        admin_token=TOKEN,  # type: ignore[arg-type]
        site_file=BUNDLED_SITE,
    )
    site = load_site(settings.site_file)
    async with (
        open_stores(settings, migrate=True) as stores,
        alerts_intake(settings=settings, site=site, stores=stores) as intake,
        Gateway(settings=settings, site=site, store=stores.timeseries, sink=intake) as gateway,
    ):
        await asyncio.wait_for(gateway.ready(), timeout=GATEWAY_READY_S)
        app = create_app(
            settings,
            site=site,
            sessions=stores.sessions,
            timeseries=stores.timeseries,
            readiness=[GatewayProbe(gateway)],
        )
        async with served(app) as base_url:
            yield Live(site=site, base_url=base_url, mqtt_port=mosquitto.port)


@pytest.fixture
async def page(live: Live) -> AsyncIterator[Page]:
    async with chromium() as browser, new_page(browser) as page:
        yield page


async def test_a_burst_turns_its_grid_red_live_and_the_crew_acknowledges_it(
    live: Live, page: Page
) -> None:
    pipe = next(d for d in live.site.devices.values() if d.type == "pipe")
    route = live.site.route(pipe.id)
    await sign_in(page, live.base_url, TOKEN)
    grid_tile = page.locator(f'.tile[data-tile-id="{route.grid.id}"]')
    await expect(grid_tile).to_have_attribute("data-colour", "green")
    await expect(page.locator('.tile[data-kind="grid"]')).to_have_count(len(live.site.grids))
    reloads: list[str] = []
    page.on("framenavigated", lambda frame: reloads.append(frame.url))

    mosquitto_pub(port=live.mqtt_port, topic=f"fm/{pipe.id}/event", message=BURST)

    await expect(grid_tile).to_have_attribute("data-colour", "red", timeout=LIVE_UPDATE_MS)
    await expect(grid_tile).to_contain_text("alarm")
    community_tile = page.locator(f'.tile[data-tile-id="{route.community.id}"]')
    await expect(community_tile).to_have_attribute("data-colour", "red")
    assert reloads == [], "the board must update without a reload"

    # The member who answers for the building acknowledges it from the crew view.
    await page.get_by_role("link", name="Crew").click()
    await page.get_by_label("I am").select_option(route.assignee.id)
    card = page.locator("article.order", has_text="burst")
    await expect(card).to_have_count(1)
    await expect(card).to_have_attribute("data-status", "open")
    await card.get_by_label("Note").fill("valve closed, plumber called")
    await card.get_by_role("button", name="Acknowledge").click()
    await expect(card).to_have_attribute("data-status", "acknowledged")
