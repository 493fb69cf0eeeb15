"""Manager view and device page in Chromium: with answers of known content routed in by
``page.route`` (so the figures on screen can be checked exactly), and against the API's real
report routes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from playwright.async_api import Page, Route, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from governance.model import Site
from storage.relational.models import Episode
from tests.api.conftest import TOKEN
from tests.api.dashboard_support import chromium, new_page, served, sign_in

pytestmark = pytest.mark.integration

UPTIME = {
    "scope": "street",
    "name": "Xincheng Subdistrict",
    "start": "2024-05-01T00:00:00+00:00",
    "end": "2024-05-04T00:00:00+00:00",
    "availability": 0.9861,
    "monitored_s": 1296000,
    "down_s": 18000,
    "maintenance_s": 0,
    "devices": 5,
    "outages": [
        {
            "device_id": "pipe-2",
            "code": "burst",
            "start": "2024-05-02T08:00:00+00:00",
            "end": "2024-05-02T13:00:00+00:00",
            "duration_s": 18000,
        }
    ],
    "buckets": [
        {
            "start": f"2024-05-0{d}T00:00:00+00:00",
            "end": f"2024-05-0{d + 1}T00:00:00+00:00",
            "availability": a,
            "down_s": s,
        }
        for d, a, s in ((1, 1.0, 0), (2, 0.958, 18000), (3, 1.0, 0))
    ],
    "mtta_s": 600,
    "mttr_s": 18000,
}
HOUSEHOLDS = [
    {
        "id": "steel",
        "name": "Special Steel",
        "households": 24,
        "household_hours_lost": 120.0,
        "availability_weighted": 0.97,
    },
    {
        "id": "sunshine",
        "name": "Sunshine Shuncheng",
        "households": 48,
        "household_hours_lost": 0.0,
        "availability_weighted": 1.0,
    },
]


def team(grid: str, name: str, sla: float | None) -> dict[str, Any]:
    return {
        "id": grid,
        "name": name,
        "orders_raised": 4,
        "orders_resolved": 4,
        "mtta_s": 300,
        "mttr_s": 3600,
        "mtbf_s": None,
        "sla_compliance": sla,
        "resolved_at_grid": 3,
        "escalated_to_community": 1,
        "escalated_to_street": 0,
        "first_time_fix_rate": 0.75,
        "backlog": {"lt_1h": 0, "1h_24h": 0, "1d_7d": 0, "gt_7d": 0},
    }


TEAMS = [team("sun-1", "Sunshine grid 1", 0.5), team("steel-1", "Steel grid 1", 1.0)]


def telemetry(metric: str) -> dict[str, Any]:
    points = [
        {
            "ts": f"2024-05-01T0{h}:00:00+00:00",
            "mean": 220.0 + h,
            "min": 219.0,
            "max": 230.0,
            "count": 60,
        }
        for h in range(6)
    ]
    return {
        "device_id": "light-1",
        "metric": metric,
        "unit": "V",
        "start": points[0]["ts"],
        "end": points[-1]["ts"],
        "every_s": 3600,
        "points": points,
    }


@pytest.fixture
async def base_url(make_app: Callable[..., FastAPI]) -> AsyncIterator[str]:
    async with served(make_app()) as url:
        yield url


@pytest.fixture
async def page(base_url: str) -> AsyncIterator[Page]:
    async with chromium() as browser, new_page(browser) as page:
        yield page


async def stub(page: Page, pattern: str, body: Any, seen: list[str] | None = None) -> None:
    async def answer(route: Route) -> None:
        if seen is not None:
            seen.append(route.request.url)
        await route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    await page.route(pattern, answer)


async def test_manager_view_charts_uptime_and_ranks_teams(page: Page, base_url: str) -> None:
    uptime_requests: list[str] = []
    await stub(page, "**/api/v1/uptime?*", UPTIME, uptime_requests)
    await stub(page, "**/api/v1/reports/households?*", HOUSEHOLDS)
    await stub(page, "**/api/v1/reports/teams?*", TEAMS)
    await sign_in(page, base_url, TOKEN, route="#/manager")

    await expect(page.locator('[data-figure="availability"]')).to_have_text("98.61 %")
    await expect(page.locator("#uptime .chart canvas")).to_have_count(1)
    outages = page.locator("#outage-table tbody tr")
    await expect(outages).to_have_count(1)
    await expect(outages.nth(0)).to_contain_text("Riser 2")  # the device's name, not its id
    await expect(outages.nth(0)).to_contain_text("5.0 h")
    await expect(page.locator("#households li").nth(0)).to_contain_text("Special Steel")
    league = page.locator("#league-table tbody tr")
    await expect(league.nth(0)).to_contain_text("Steel grid 1")  # best SLA first
    await expect(league.nth(1)).to_contain_text("50.00 %")
    assert "scope=street" in uptime_requests[0] and "bucket=day" in uptime_requests[0]

    async with page.expect_request("**/api/v1/uptime?*") as request:
        await page.get_by_label("Scope").select_option("grid:steel-1")
    url = (await request.value).url
    assert "scope=grid" in url and "id=steel-1" in url


async def test_the_manager_view_renders_the_real_reports(
    page: Page, base_url: str, site: Site
) -> None:
    # No stubs: the API's own uptime and report routes over the test site's empty history.
    async with page.expect_response("**/api/v1/reports/teams?*") as teams:
        await sign_in(page, base_url, TOKEN, route="#/manager")
    assert (await teams.value).status == 200
    await expect(page.locator("#uptime .chart canvas")).to_have_count(1)
    await expect(page.locator('[data-figure="availability"]')).to_have_text("100.00 %")
    await expect(page.locator("#league-table tbody tr")).to_have_count(len(site.grids))
    await expect(page.locator("#outage-table tbody tr")).to_have_count(0)


async def test_an_outage_in_the_history_shows_in_the_manager_view(
    page: Page, base_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # A three-hour burst two days ago, as the alerts side records it: an ended episode.
    started = datetime.now(UTC) - timedelta(days=2)
    async with sessions.begin() as session:
        session.add(
            Episode(
                device_id="light-1",
                code="short_circuit",
                severity="major",
                source="rule",
                detail="",
                started_at=started,
                ended_at=started + timedelta(hours=3),
            )
        )
    await sign_in(page, base_url, TOKEN, route="#/manager")

    outages = page.locator("#outage-table tbody tr")
    await expect(outages).to_have_count(1)
    await expect(outages.nth(0)).to_contain_text("Stair light 1")
    await expect(outages.nth(0)).to_contain_text("3.0 h")
    availability = page.locator('[data-figure="availability"]')
    await expect(availability).not_to_have_text("100.00 %")
    await expect(page.locator("#uptime .chart canvas")).to_have_count(1)


async def test_device_page_charts_metrics_and_hides_injection_without_a_fleet(
    page: Page, base_url: str
) -> None:
    requested: list[str] = []
    await stub(page, "**/api/v1/devices/light-1/telemetry?*", telemetry("voltage_v"), requested)
    await sign_in(page, base_url, TOKEN, route="#/device/light-1")
    await expect(page.get_by_role("heading", name="Stair light 1")).to_be_visible()
    await expect(page.locator(".facts")).to_contain_text("Building of Sunshine grid 1")
    await expect(page.locator(".chart canvas")).to_have_count(3)  # current, voltage, lux
    assert any("metric=voltage_v" in url for url in requested)

    # This app runs no simulated fleet: the first click answers 404 and the control goes away.
    simulation = page.locator("#simulation")
    await simulation.locator('button[data-code="short_circuit"]').click()
    await expect(simulation).to_have_count(0)
    await page.reload()
    await expect(page.get_by_role("heading", name="Stair light 1")).to_be_visible()
    await expect(page.locator("#simulation")).to_have_count(0)
