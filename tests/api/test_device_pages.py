"""Device list paging, hierarchy filters and CSV; ``last_seen_at`` and ``latest`` from the store."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import AsyncIterator, Callable, Collection
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from governance.model import Site
from storage.tsdb.port import Latest, Point
from storage.tsdb.sqlite import SqliteTimeSeries
from tests.api.conftest import T0, build_site, make_episode, seed, serve

ALL_DEVICES = ["light-1", "light-2", "pipe-1", "pipe-2", "shed-1"]
EPOCH_T0 = T0.timestamp()


class CountingStore(SqliteTimeSeries):
    """The SQLite store, remembering which devices each ``latest`` call asked for."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.asked: list[list[str]] = []

    async def latest(self, device_ids: Collection[str]) -> Latest:
        self.asked.append(sorted(device_ids))
        return await super().latest(device_ids)


@pytest.fixture
def site() -> Site:
    """The test site, with one device whose name a spreadsheet would run as a formula."""
    built = build_site()
    light = built.devices["light-2"]
    devices = {**built.devices, "light-2": dataclasses.replace(light, name="=HYPERLINK(1)")}
    return dataclasses.replace(built, devices=devices)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[CountingStore]:
    store = CountingStore(tmp_path / "telemetry.sqlite3")
    await store.open()
    await store.write(
        [
            Point("shed-1", "temp_c", EPOCH_T0 + 60, 31.5),
            Point("shed-1", "smoke", EPOCH_T0 + 60, False),
            Point("shed-1", "breaker_on", EPOCH_T0 + 120, True),
            Point("shed-1", "temp_c", EPOCH_T0 + 30, 20.0),
            Point("pipe-1", "pressure_kpa", EPOCH_T0 + 5, 310.0),
        ]
    )
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def client(
    make_app: Callable[..., FastAPI],
    store: CountingStore,
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[httpx.AsyncClient]:
    await seed(sessions, make_episode("pipe-2", "leak", severity="major"))
    async with serve(make_app(timeseries=store)) as client:
        yield client


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [device["id"] for device in response.json()]


@pytest.mark.parametrize(
    ("query", "expected", "total"),
    [
        ("", ALL_DEVICES, 5),
        ("limit=2", ["light-1", "light-2"], 5),
        ("limit=2&offset=2", ["pipe-1", "pipe-2"], 5),
        ("limit=2&offset=4", ["shed-1"], 5),
        ("offset=5", [], 5),
        ("status=ok&limit=1&offset=2", ["pipe-1"], 4),
        ("community_id=sunshine", ["light-1", "pipe-1", "shed-1"], 3),
        ("community_id=steel&type=pipe", ["pipe-2"], 1),
        ("building_id=b-sun-1&limit=1", ["light-1"], 2),
        ("building_id=b-sun-2&grid_id=sun-1", [], 0),
    ],
)
async def test_pages_and_filters_with_the_total_before_paging(
    client: httpx.AsyncClient, query: str, expected: list[str], total: int
) -> None:
    response = await client.get(f"/api/v1/devices?{query}")
    assert ids(response) == expected
    assert response.headers["X-Total-Count"] == str(total)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("community_id=atlantis", "unknown community 'atlantis'; GET /api/v1/site lists"),
        ("building_id=b-404", "unknown building 'b-404'; GET /api/v1/site lists the buildings"),
        ("grid_id=nowhere", "unknown grid 'nowhere'; GET /api/v1/site lists the grids"),
        ("limit=0", "query parameter 'limit'"),
        ("limit=1001", "query parameter 'limit'"),
        ("offset=-1", "query parameter 'offset'"),
        ("format=xml", "query parameter 'format'"),
    ],
)
async def test_bad_list_requests_are_422_naming_the_problem(
    client: httpx.AsyncClient, query: str, message: str
) -> None:
    response = await client.get(f"/api/v1/devices?{query}")
    assert response.status_code == 422
    assert message in response.json()["detail"]


async def test_last_seen_at_is_the_newest_stored_reading(client: httpx.AsyncClient) -> None:
    devices = {d["id"]: d for d in (await client.get("/api/v1/devices")).json()}
    assert devices["shed-1"]["last_seen_at"] == (T0 + timedelta(seconds=120)).isoformat()
    assert devices["pipe-1"]["last_seen_at"] == (T0 + timedelta(seconds=5)).isoformat()
    assert devices["light-1"]["last_seen_at"] is None


async def test_the_list_reads_latest_readings_of_its_page_only(
    client: httpx.AsyncClient, store: CountingStore
) -> None:
    assert ids(await client.get("/api/v1/devices?limit=2&offset=1")) == ["light-2", "pipe-1"]
    assert store.asked == [["light-2", "pipe-1"]]


async def test_detail_carries_each_metrics_latest_value_and_time(
    client: httpx.AsyncClient,
) -> None:
    body = (await client.get("/api/v1/devices/shed-1")).json()
    assert body["last_seen_at"] == (T0 + timedelta(seconds=120)).isoformat()
    assert body["latest"] == {
        "breaker_on": {"value": True, "ts": (T0 + timedelta(seconds=120)).isoformat()},
        "smoke": {"value": False, "ts": (T0 + timedelta(seconds=60)).isoformat()},
        "temp_c": {"value": 31.5, "ts": (T0 + timedelta(seconds=60)).isoformat()},
    }
    silent = (await client.get("/api/v1/devices/light-1")).json()
    assert (silent["latest"], silent["last_seen_at"]) == ({}, None)


async def test_csv_is_the_same_page_with_formulas_made_inert(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/devices?format=csv&limit=3&offset=1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="devices.csv"'
    assert response.headers["X-Total-Count"] == "5"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["id"] for row in rows] == ["light-2", "pipe-1", "pipe-2"]
    assert rows[0]["name"] == "'=HYPERLINK(1)"
    assert rows[1]["last_seen_at"] == (T0 + timedelta(seconds=5)).isoformat()
    assert (rows[2]["status"], rows[2]["last_seen_at"]) == ("fault", "")
    assert list(rows[0]) == [
        "id",
        "type",
        "name",
        "building_id",
        "grid_id",
        "community_id",
        "team_id",
        "status",
        "last_seen_at",
    ]


async def test_a_failing_time_series_store_is_503_json(
    client: httpx.AsyncClient, store: CountingStore
) -> None:
    await store.close()
    for path in ("/api/v1/devices", "/api/v1/devices/shed-1"):
        response = await client.get(path)
        assert response.status_code == 503
        assert "time-series store is unavailable" in response.json()["detail"]
