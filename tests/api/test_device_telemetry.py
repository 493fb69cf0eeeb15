"""``GET /api/v1/devices/{id}/telemetry``: validation, bucket width, booleans, CSV, defaults."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from core.clock import ManualClock
from core.settings import Settings
from governance.model import Site
from storage.tsdb.port import Point
from storage.tsdb.sqlite import SqliteTimeSeries
from tests.api.conftest import T0, serve

NOW = T0 + timedelta(days=30)
MAX_POINTS = 300


def iso(seconds: float) -> str:
    """T0 + seconds as an RFC 3339 query value."""
    return quote((T0 + timedelta(seconds=seconds)).isoformat())


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteTimeSeries]:
    store = SqliteTimeSeries(tmp_path / "telemetry.sqlite3")
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def client(
    settings: Settings,
    site: Site,
    sessions: async_sessionmaker[AsyncSession],
    store: SqliteTimeSeries,
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        settings, site=site, sessions=sessions, timeseries=store, clock=ManualClock(NOW)
    )
    async with serve(app) as client:
        yield client


async def test_buckets_with_unit_window_and_width(
    client: httpx.AsyncClient, store: SqliteTimeSeries
) -> None:
    base = T0.timestamp()
    await store.write(
        [Point("shed-1", "temp_c", base + s, v) for s, v in ((0, 20), (30, 30), (61, 50))]
        + [Point("shed-1", "power_w", base + 10, 400.0)]
    )
    response = await client.get(
        f"/api/v1/devices/shed-1/telemetry?metric=temp_c&start={iso(0)}&end={iso(120)}&every=60"
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "device_id": "shed-1",
        "metric": "temp_c",
        "unit": "°C",
        "start": T0.isoformat(),
        "end": (T0 + timedelta(seconds=120)).isoformat(),
        "every_s": 60,
        "points": [
            {"ts": T0.isoformat(), "mean": 25.0, "min": 20.0, "max": 30.0, "count": 2},
            {
                "ts": (T0 + timedelta(seconds=60)).isoformat(),
                "mean": 50.0,
                "min": 50.0,
                "max": 50.0,
                "count": 1,
            },
        ],
    }


async def test_booleans_average_to_the_share_of_true(
    client: httpx.AsyncClient, store: SqliteTimeSeries
) -> None:
    base = T0.timestamp()
    await store.write([Point("light-1", "lamp_on", base + s, s < 15) for s in range(0, 60, 5)])
    response = await client.get(
        f"/api/v1/devices/light-1/telemetry?metric=lamp_on&start={iso(0)}&end={iso(60)}&every=60"
    )
    (point,) = response.json()["points"]
    assert (point["mean"], point["min"], point["max"], point["count"]) == (0.25, 0.0, 1.0, 12)


async def test_a_too_narrow_every_is_widened_to_the_point_budget(
    client: httpx.AsyncClient, store: SqliteTimeSeries
) -> None:
    # One reading a day for two years, asked for in one-second buckets.
    base = T0.timestamp()
    await store.write([Point("pipe-1", "temp_c", base + day * 86_400, 5.0) for day in range(731)])
    response = await client.get(
        f"/api/v1/devices/pipe-1/telemetry?metric=temp_c&start={iso(0)}"
        f"&end={iso(731 * 86_400)}&every=1"
    )
    body = response.json()
    assert body["every_s"] >= 731 * 86_400 / MAX_POINTS
    assert 0 < len(body["points"]) <= MAX_POINTS
    assert sum(point["count"] for point in body["points"]) == 731


async def test_the_default_window_is_the_last_seven_days(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/devices/pipe-1/telemetry?metric=flow_lpm")).json()
    assert (body["start"], body["end"]) == ((NOW - timedelta(days=7)).isoformat(), NOW.isoformat())
    assert body["every_s"] * MAX_POINTS >= 7 * 86_400
    assert (body["unit"], body["points"]) == ("L/min", [])


async def test_csv_lists_the_buckets(client: httpx.AsyncClient, store: SqliteTimeSeries) -> None:
    await store.write([Point("pipe-2", "level_cm", T0.timestamp() + 1, 12.5)])
    response = await client.get(
        f"/api/v1/devices/pipe-2/telemetry?metric=level_cm&start={iso(0)}&end={iso(60)}&format=csv"
    )
    assert response.headers["content-disposition"] == 'attachment; filename="pipe-2-level_cm.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    # A minute fits the budget in one-second buckets, the narrowest there is.
    second = (T0 + timedelta(seconds=1)).isoformat()
    assert rows == [{"ts": second, "mean": "12.5", "min": "12.5", "max": "12.5", "count": "1"}]


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("metric=pressure_kpa", 422, "valid metrics: current_a, lamp_on, lux, voltage_v"),
        ("", 422, "query parameter 'metric'"),
        (f"metric=lux&start={iso(60)}&end={iso(60)}", 422, "must be before end"),
        (f"metric=lux&start={iso(0)}&end={iso(-1)}", 422, "must be before end"),
        (f"metric=lux&start={iso(0)}&end={iso(733 * 86_400)}", 422, "FM_TELEMETRY_MAX_WINDOW_S"),
        ("metric=lux&start=2024-05-01T08:00:00", 422, "query parameter 'start'"),
        ("metric=lux&start=yesterday", 422, "query parameter 'start'"),
        ("metric=lux&every=0", 422, "query parameter 'every'"),
        ("metric=lux&every=99999999999", 422, "wider than the longest window"),
        ("metric=lux&end=0001-01-02T00:00:00Z", 422, "past the calendar"),
    ],
)
async def test_bad_requests_are_422_naming_the_problem(
    client: httpx.AsyncClient, query: str, status: int, message: str
) -> None:
    response = await client.get(f"/api/v1/devices/light-1/telemetry?{query}")
    assert response.status_code == status
    assert message in response.json()["detail"]


async def test_an_unknown_device_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/devices/ghost/telemetry?metric=lux")
    assert response.status_code == 404
    assert response.json() == {"detail": "device 'ghost' not found"}
