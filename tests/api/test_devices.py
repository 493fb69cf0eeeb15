"""Device listing with derived status and filters; device detail with open faults."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.devices.queries import status_from_open_codes
from api.devices.schemas import DeviceStatus
from storage.tsdb.sqlite import SqliteTimeSeries
from tests.api.conftest import T0, make_episode, seed, serve

EXPECTED_STATUS = {
    "light-1": "fault",
    "light-2": "ok",
    "pipe-1": "ok",
    "pipe-2": "fault",
    "shed-1": "offline",
}


@pytest.fixture
async def client(
    make_app: Callable[..., FastAPI], tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """The app on an empty SQLite time-series store (no device has reported yet)."""
    store = SqliteTimeSeries(tmp_path / "telemetry.sqlite3")
    await store.open()
    try:
        async with serve(make_app(timeseries=store)) as client:
            yield client
    finally:
        await store.close()


@pytest.fixture
async def episodes(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed(
        sessions,
        make_episode("light-1", "lamp_failure", minutes=1),
        make_episode("pipe-1", "leak", severity="major", minutes=2, ended=True),
        make_episode("shed-1", "smoke", severity="critical", minutes=3),
        make_episode("shed-1", "offline", severity="major", minutes=4),
        make_episode("pipe-2", "low_pressure", minutes=5),
        # A device that is no longer in the site file is not listed.
        make_episode("ghost", "offline", minutes=6),
    )


def test_status_rule() -> None:
    assert status_from_open_codes([]) is DeviceStatus.OK
    assert status_from_open_codes(["leak"]) is DeviceStatus.FAULT
    assert status_from_open_codes(["leak", "offline"]) is DeviceStatus.OFFLINE


@pytest.mark.usefixtures("episodes")
async def test_list_devices_with_status(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/devices")
    assert response.status_code == 200
    devices = response.json()
    assert [d["id"] for d in devices] == sorted(EXPECTED_STATUS)
    assert {d["id"]: d["status"] for d in devices} == EXPECTED_STATUS
    shed = next(d for d in devices if d["id"] == "shed-1")
    assert shed == {
        "id": "shed-1",
        "type": "charging_shed",
        "name": "E-bike shed",
        "building_id": "b-sun-2",
        "grid_id": "sun-2",
        "community_id": "sunshine",
        "team_id": "t-sun-2",
        "status": "offline",
        "last_seen_at": None,
    }


@pytest.mark.usefixtures("episodes")
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=corridor_light", ["light-1", "light-2"]),
        ("type=pipe", ["pipe-1", "pipe-2"]),
        ("grid_id=sun-1", ["light-1", "pipe-1"]),
        ("grid_id=steel-1", ["light-2", "pipe-2"]),
        ("status=ok", ["light-2", "pipe-1"]),
        ("status=fault", ["light-1", "pipe-2"]),
        ("status=offline", ["shed-1"]),
        ("type=pipe&status=fault", ["pipe-2"]),
        ("type=charging_shed&grid_id=steel-1", []),
    ],
)
async def test_filters(client: httpx.AsyncClient, query: str, expected: list[str]) -> None:
    response = await client.get(f"/api/v1/devices?{query}")
    assert response.status_code == 200
    assert [d["id"] for d in response.json()] == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("type=lamp", "valid types: charging_shed, corridor_light, pipe"),
        ("status=broken", "'ok', 'fault' or 'offline'"),
        ("grid_id=nowhere", "unknown grid 'nowhere'"),
    ],
)
async def test_bad_filter_is_422_with_a_clear_message(
    client: httpx.AsyncClient, query: str, message: str
) -> None:
    response = await client.get(f"/api/v1/devices?{query}")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    assert message in detail


@pytest.mark.usefixtures("episodes")
async def test_device_detail_with_open_faults(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/devices/shed-1")
    assert response.status_code == 200
    device = response.json()
    assert device["status"] == "offline"
    assert device["location"] == {"lat": 36.21, "lon": 116.78, "text": "north yard"}
    assert device["building"]["id"] == "b-sun-2"
    assert device["building"]["care"] == "green"
    assert device["responsible"] == {"id": "lead-sun-2", "name": "Leader sun-2", "role": "leader"}
    assert device["open_faults"] == [
        {
            "code": "smoke",
            "severity": "critical",
            "since": T0.replace(minute=3).isoformat(),
            "detail": "smoke seen by the test",
        },
        {
            "code": "offline",
            "severity": "major",
            "since": T0.replace(minute=4).isoformat(),
            "detail": "offline seen by the test",
        },
    ]
    assert device["open_faults"][0]["since"].endswith("+00:00")


@pytest.mark.usefixtures("episodes")
async def test_device_detail_without_faults(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/devices/pipe-1")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["open_faults"] == []
    assert body["responsible"]["id"] == "member-sun-1"


async def test_unknown_device_is_404_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/devices/ghost")
    assert response.status_code == 404
    assert response.json() == {"detail": "device 'ghost' not found"}
