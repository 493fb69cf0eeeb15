"""``GET /api/v1/board``: tiles per area, coloured by open orders and device states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.board.projection import MAP_HEIGHT, MAP_MARGIN, MAP_WIDTH, Projection
from governance.model import Building, Location
from tests.api.conftest import make_episode, make_order, seed

STEEL = {
    "building_id": "b-steel-1",
    "grid_id": "steel-1",
    "community_id": "steel",
    "team_id": "t-steel-1",
}


def by_id(tiles: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {tile["id"]: tile for tile in tiles}


async def test_an_empty_street_is_green_everywhere(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/board")
    assert response.status_code == 200, response.text
    board = response.json()
    assert board["street"] == {
        "id": "xincheng",
        "name": "Xincheng Subdistrict",
        "colour": "green",
        "open_orders": 0,
        "overdue": 0,
        "critical": 0,
        "devices": 5,
        "faulty": 0,
        "offline": 0,
    }
    assert [c["id"] for c in board["communities"]] == ["steel", "sunshine"]
    assert [g["id"] for g in board["grids"]] == ["steel-1", "sun-1", "sun-2"]
    assert {b["colour"] for b in board["buildings"]} == {"green"}


async def test_colours_follow_orders_deadlines_and_device_states(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    now = datetime.now(UTC)
    await seed(
        sessions,
        # sun-1: an open minor order not yet due → yellow.
        make_order(ack_due_at=now + timedelta(hours=1)),
        # sun-2: only an offline device → yellow.
        make_episode("shed-1", "offline", severity="major"),
        # steel-1: an acknowledged order past its resolve deadline → red; a resolved one and a
        # linked child do not count.
        make_order(
            device_id="pipe-2",
            fault_code="leak",
            status="acknowledged",
            resolve_due_at=now - timedelta(minutes=1),
            **STEEL,
        ),
        make_order(device_id="light-2", fault_code="no_power", status="resolved", **STEEL),
        make_episode("pipe-2", "leak", severity="major"),
    )
    board = (await client.get("/api/v1/board")).json()
    grids = by_id(board["grids"])
    assert grids["sun-1"]["colour"] == "yellow"
    assert (grids["sun-1"]["open_orders"], grids["sun-1"]["overdue"]) == (1, 0)
    assert grids["sun-2"]["colour"] == "yellow"
    assert (grids["sun-2"]["offline"], grids["sun-2"]["open_orders"]) == (1, 0)
    assert grids["steel-1"]["colour"] == "red"
    assert (grids["steel-1"]["open_orders"], grids["steel-1"]["overdue"]) == (1, 1)
    assert grids["steel-1"]["faulty"] == 1

    communities = by_id(board["communities"])
    assert communities["sunshine"]["colour"] == "yellow"
    assert communities["sunshine"]["open_orders"] == 1
    assert communities["sunshine"]["devices"] == 3
    assert communities["steel"]["colour"] == "red"
    street = board["street"]
    assert (street["colour"], street["open_orders"], street["overdue"]) == ("red", 2, 1)
    assert (street["faulty"], street["offline"]) == (1, 1)
    buildings = by_id(board["buildings"])
    assert buildings["b-steel-1"]["colour"] == "red"
    assert buildings["b-sun-2"]["colour"] == "yellow"


async def test_a_critical_order_is_red_before_any_deadline(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed(sessions, make_order(device_id="pipe-1", fault_code="burst", severity="critical"))
    grids = by_id((await client.get("/api/v1/board")).json()["grids"])
    assert (grids["sun-1"]["colour"], grids["sun-1"]["critical"]) == ("red", 1)
    assert grids["sun-2"]["colour"] == "green"


async def test_an_offline_device_with_a_fault_counts_once_as_offline(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed(
        sessions,
        make_episode("light-1", "offline"),
        make_episode("light-1", "lamp_failure", minutes=1),
    )
    grid = by_id((await client.get("/api/v1/board")).json()["grids"])["sun-1"]
    assert (grid["offline"], grid["faulty"], grid["devices"]) == (1, 0, 2)


async def test_the_board_needs_the_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/board", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401


def building(bid: str, lat: float | None, lon: float | None) -> Building:
    return Building(id=bid, name=bid, grid_id="g", location=Location(lat=lat, lon=lon))


def test_projection_fits_the_box_north_up_and_keeps_the_aspect() -> None:
    west_south = building("sw", 36.0, 116.0)
    east_north = building("ne", 36.01, 116.01)
    unlocated = building("x", None, None)
    projection = Projection.fitting([west_south, east_north, unlocated])
    assert projection is not None
    sw, ne = projection.place(west_south), projection.place(east_north)
    assert sw is not None and ne is not None
    assert projection.place(unlocated) is None
    # North is up (smaller y), east is right; everything inside the margins.
    assert ne.y < sw.y and ne.x > sw.x
    for point in (sw, ne):
        assert MAP_MARGIN - 0.1 <= point.x <= MAP_WIDTH - MAP_MARGIN + 0.1
        assert MAP_MARGIN - 0.1 <= point.y <= MAP_HEIGHT - MAP_MARGIN + 0.1
    # A degree of longitude is shorter than one of latitude at 36° N: the box is wider in
    # y than in x for equal degree spans.
    assert (ne.x - sw.x) < (sw.y - ne.y)


def test_projection_of_a_single_building_is_the_centre() -> None:
    only = building("one", 36.0, 116.0)
    projection = Projection.fitting([only])
    assert projection is not None
    assert projection.place(only) is not None
    assert Projection.fitting([building("x", None, None)]) is None
