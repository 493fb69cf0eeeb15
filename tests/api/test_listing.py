"""Every stored-list route pages the same way: limit, offset, a stable order, X-Total-Count."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.api.conftest import T0


def shift(index: int) -> dict[str, Any]:
    starts_at = T0 + timedelta(hours=8 * index)
    return {
        "team_id": "t-sun-1",
        "member_id": "member-sun-1",
        "starts_at": starts_at.isoformat(),
        "ends_at": (starts_at + timedelta(hours=8)).isoformat(),
    }


def silence(index: int) -> dict[str, Any]:
    return {
        "scope_kind": "grid",
        "scope_id": "sun-1",
        "starts_at": (T0 + timedelta(days=index)).isoformat(),
        "ends_at": "2999-01-01T00:00:00+00:00",
    }


def endpoint(index: int) -> dict[str, Any]:
    return {
        "kind": "webhook",
        "url": f"https://ops.example.org/hook-{index}",
        "scope_kind": "grid",
        "scope_id": "sun-1",
    }


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/rosters", shift),
        ("/api/v1/silences", silence),
        ("/api/v1/notification-endpoints", endpoint),
    ],
)
async def test_lists_page_in_creation_order_with_the_total(
    client: httpx.AsyncClient, path: str, body: Callable[[int], dict[str, Any]]
) -> None:
    created = []
    for index in range(3):
        response = await client.post(path, json=body(index))
        assert response.status_code == 201, response.text
        created.append(response.json()["id"])
    page = await client.get(path, params={"limit": 2, "offset": 1})
    assert page.status_code == 200
    assert [row["id"] for row in page.json()] == created[1:]
    assert page.headers["X-Total-Count"] == "3"
    everything = await client.get(path)
    assert [row["id"] for row in everything.json()] == created
    refused = await client.get(path, params={"limit": 0})
    assert refused.status_code == 422 and "query parameter 'limit'" in refused.json()["detail"]
