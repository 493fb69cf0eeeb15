"""Work-order listing: every filter, newest-first ordering, paging bounds; one order by id."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.listing import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from storage.relational.models import WorkOrder
from tests.api.conftest import T0, make_order, seed


def at(minutes: int) -> object:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
async def orders(sessions: async_sessionmaker[AsyncSession]) -> dict[str, WorkOrder]:
    """Seven orders over three grids and every state; o6 and o7 share a creation time."""
    rows = {
        "o1": make_order(created_at=at(1)),
        "o2": make_order(
            device_id="pipe-1",
            fault_code="leak",
            severity="major",
            status="acknowledged",
            created_at=at(2),
            acknowledged_at=at(3),
        ),
        "o3": make_order(
            device_id="shed-1",
            fault_code="smoke",
            severity="critical",
            priority=3,
            status="in_progress",
            tier="community",
            building_id="b-sun-2",
            grid_id="sun-2",
            team_id="t-sun-2",
            assignee="lead-sun-2",
            created_at=at(3),
            acknowledged_at=at(4),
            started_at=at(5),
        ),
        "o4": make_order(
            device_id="pipe-2",
            fault_code="low_pressure",
            status="resolved",
            building_id="b-steel-1",
            grid_id="steel-1",
            community_id="steel",
            team_id="t-steel-1",
            created_at=at(4),
            resolved_at=at(9),
        ),
        "o5": make_order(
            device_id="light-2",
            fault_code="no_power",
            severity="major",
            status="closed",
            building_id="b-steel-1",
            grid_id="steel-1",
            community_id="steel",
            team_id="t-steel-1",
            assignee=None,
            occurrences=3,
            created_at=at(5),
            resolved_at=at(7),
            recovered_at=at(6),
            closed_at=at(8),
        ),
        "o6": make_order(status="cancelled", created_at=at(6), closed_at=at(7)),
        "o7": make_order(
            device_id="pipe-2",
            fault_code="leak",
            building_id="b-steel-1",
            grid_id="steel-1",
            community_id="steel",
            team_id="t-steel-1",
            created_at=at(6),
        ),
    }
    await seed(sessions, *rows.values())
    return rows


def ids(response: httpx.Response, orders: dict[str, WorkOrder]) -> list[str]:
    by_id = {order.id: name for name, order in orders.items()}
    return [by_id[item["id"]] for item in response.json()]


async def test_listing_is_newest_first_with_every_field(
    client: httpx.AsyncClient, orders: dict[str, WorkOrder]
) -> None:
    response = await client.get("/api/v1/workorders")
    assert response.status_code == 200
    # o6 and o7 were created at the same instant: the later id comes first.
    assert ids(response, orders) == ["o7", "o6", "o5", "o4", "o3", "o2", "o1"]
    assert response.headers["X-Total-Count"] == "7"
    closed = next(item for item in response.json() if item["id"] == orders["o5"].id)
    assert closed == {
        "id": orders["o5"].id,
        "scope": "device",
        "device_id": "light-2",
        "fault_code": "no_power",
        "severity": "major",
        "priority": 0,
        "status": "closed",
        "team_id": "t-steel-1",
        "grid_id": "steel-1",
        "community_id": "steel",
        "building_id": "b-steel-1",
        "assignee": None,
        "tier": "grid",
        "occurrences": 3,
        "reopen_count": 0,
        "parent_id": None,
        "silenced": False,
        "detail": "",
        "created_at": "2024-05-01T08:05:00+00:00",
        "acknowledged_at": None,
        "started_at": None,
        "resolved_at": "2024-05-01T08:07:00+00:00",
        "closed_at": "2024-05-01T08:08:00+00:00",
        "recovered_at": "2024-05-01T08:06:00+00:00",
        "cancelled_at": None,
        "ack_due_at": None,
        "resolve_due_at": None,
        "escalated_at": None,
        "version": 1,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=open", ["o7", "o1"]),
        ("status=open&status=acknowledged&status=in_progress", ["o7", "o3", "o2", "o1"]),
        ("status=cancelled", ["o6"]),
        ("status=resolved", ["o4"]),
        ("device_id=light-1", ["o6", "o1"]),
        ("device_id=nobody", []),
        ("team_id=t-steel-1", ["o7", "o5", "o4"]),
        ("grid_id=sun-2", ["o3"]),
        ("grid_id=steel-1&status=open", ["o7"]),
        ("team_id=t-sun-1&device_id=pipe-1", ["o2"]),
    ],
)
async def test_filters(
    client: httpx.AsyncClient, orders: dict[str, WorkOrder], query: str, expected: list[str]
) -> None:
    response = await client.get(f"/api/v1/workorders?{query}")
    assert response.status_code == 200
    assert ids(response, orders) == expected
    assert response.headers["X-Total-Count"] == str(len(expected))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("limit=2", ["o7", "o6"]),
        ("limit=2&offset=1", ["o6", "o5"]),
        ("limit=2&offset=6", ["o1"]),
        ("offset=7", []),
        (f"limit={MAX_PAGE_SIZE}", ["o7", "o6", "o5", "o4", "o3", "o2", "o1"]),
        ("status=open&limit=1&offset=1", ["o1"]),
    ],
)
async def test_paging(
    client: httpx.AsyncClient, orders: dict[str, WorkOrder], query: str, expected: list[str]
) -> None:
    response = await client.get(f"/api/v1/workorders?{query}")
    assert response.status_code == 200
    assert ids(response, orders) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=0", "query parameter 'limit'"),
        (f"limit={MAX_PAGE_SIZE + 1}", f"less than or equal to {MAX_PAGE_SIZE}"),
        ("offset=-1", "query parameter 'offset'"),
        ("limit=many", "valid integer"),
        (
            "status=done",
            "'open', 'acknowledged', 'in_progress', 'resolved', 'closed' or 'cancelled'",
        ),
        (f"device_id={'x' * 65}", "query parameter 'device_id'"),
    ],
)
async def test_bad_query_is_422(client: httpx.AsyncClient, query: str, message: str) -> None:
    response = await client.get(f"/api/v1/workorders?{query}")
    assert response.status_code == 422
    assert message in response.json()["detail"]


async def test_default_page_size(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    count = DEFAULT_PAGE_SIZE + 5
    await seed(
        sessions,
        *(make_order(created_at=T0 + timedelta(seconds=n), open_key=f"k{n}") for n in range(count)),
    )
    response = await client.get("/api/v1/workorders")
    assert len(response.json()) == DEFAULT_PAGE_SIZE
    assert response.headers["X-Total-Count"] == str(count)


async def test_one_order(client: httpx.AsyncClient, orders: dict[str, WorkOrder]) -> None:
    response = await client.get(f"/api/v1/workorders/{orders['o3'].id}")
    assert response.status_code == 200
    body = response.json()
    assert body["fault_code"] == "smoke"
    assert body["tier"] == "community"
    assert body["started_at"] == "2024-05-01T08:05:00+00:00"


async def test_unknown_order_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/workorders/999")
    assert response.status_code == 404
    assert response.json() == {"detail": "work order 999 not found"}


async def test_non_numeric_id_is_422(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/workorders/abc")
    assert response.status_code == 422
    assert response.json()["detail"].startswith("path parameter 'order_id'")
