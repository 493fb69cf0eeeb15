"""The ledger's reads: work-order filters (assignee, tier, type, period) and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api.conftest import T0, make_order, seed


@pytest.fixture
async def ledger(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed(
        sessions,
        make_order(device_id="light-1", fault_code="lamp_failure", created_at=T0),
        make_order(
            device_id="pipe-1",
            fault_code="leak",
            tier="community",
            assignee="lead-sun-1",
            created_at=T0 + timedelta(days=1),
        ),
        make_order(
            device_id="shed-1",
            fault_code="overheat",
            detail='=HYPERLINK("http://evil")',
            building_id="b-sun-2",
            grid_id="sun-2",
            team_id="t-sun-2",
            assignee="member-sun-2",
            created_at=T0 + timedelta(days=2),
        ),
    )


async def devices_of(client: httpx.AsyncClient, **params: str) -> list[str]:
    response = await client.get("/api/v1/workorders", params=params)
    assert response.status_code == 200, response.text
    return [order["device_id"] for order in response.json()]


@pytest.mark.usefixtures("ledger")
async def test_filters_narrow_the_ledger(client: httpx.AsyncClient) -> None:
    assert await devices_of(client, assignee="member-sun-1") == ["light-1"]
    assert await devices_of(client, tier="community") == ["pipe-1"]
    assert await devices_of(client, type="charging_shed") == ["shed-1"]
    assert await devices_of(client, type="pipe", tier="grid") == []
    window = {
        "start": (T0 + timedelta(hours=1)).isoformat(),
        "end": (T0 + timedelta(days=2)).isoformat(),
    }
    assert await devices_of(client, **window) == ["pipe-1"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"type": "toaster"}, "unknown device type 'toaster'"),
        ({"tier": "city"}, "tier"),
        ({"start": "2024-05-02T00:00:00Z", "end": "2024-05-01T00:00:00Z"}, "must be before"),
        ({"start": "2024-05-02T00:00:00"}, "timezone"),
        ({"format": "xml"}, "format"),
    ],
)
async def test_bad_filters_are_422(
    client: httpx.AsyncClient, params: dict[str, str], message: str
) -> None:
    response = await client.get("/api/v1/workorders", params=params)
    assert response.status_code == 422
    assert message in response.json()["detail"]


@pytest.mark.usefixtures("ledger")
async def test_csv_has_every_field_and_defuses_formulas(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/workorders", params={"format": "csv", "limit": "2"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    assert response.headers["x-total-count"] == "3"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["device_id"] for row in rows] == ["shed-1", "pipe-1"]  # paged like JSON
    assert rows[0]["detail"] == '\'=HYPERLINK("http://evil")'
    assert rows[0]["created_at"] == (T0 + timedelta(days=2)).isoformat()
    assert rows[1]["tier"] == "community"
    assert rows[0]["acknowledged_at"] == ""
