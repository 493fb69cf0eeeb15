"""``POST /api/v1/simulation/faults`` against a real (not connected) fleet simulator."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from core.settings import Settings
from governance.model import Site
from sensors.behaviour import SimulatedDevice
from sensors.simulator import FleetSimulator
from tests.api.conftest import FakeTimeSeries, serve

URL = "/api/v1/simulation/faults"


def fleet_of(site: Site) -> FleetSimulator:
    devices = [SimulatedDevice(d.id, d.type) for d in site.devices.values()]
    return FleetSimulator(devices, host="127.0.0.1", port=1, interval_s=10, seed=1)


def app_with(
    settings: Settings,
    site: Site,
    sessions: async_sessionmaker[AsyncSession],
    fleet: FleetSimulator | None,
) -> FastAPI:
    return create_app(
        settings, site=site, sessions=sessions, timeseries=FakeTimeSeries(), fleet=fleet
    )


async def test_inject_then_recover_changes_the_fleet(
    settings: Settings, site: Site, sessions: async_sessionmaker[AsyncSession]
) -> None:
    fleet = fleet_of(site)
    async with serve(app_with(settings, site, sessions, fleet)) as client:
        body = {"device_id": "pipe-1", "code": "leak", "action": "inject"}
        response = await client.post(URL, json=body)
        assert response.status_code == 202
        assert response.json() == body
        assert fleet.faults("pipe-1") == ("leak",)

        await client.post(URL, json={**body, "code": "burst"})
        response = await client.post(URL, json={**body, "action": "recover"})
        assert response.status_code == 202
        assert fleet.faults("pipe-1") == ("burst",)

        response = await client.post(URL, json={"device_id": "pipe-1", "action": "recover"})
        assert response.status_code == 202
        assert fleet.faults("pipe-1") == ()


async def test_unknown_device_or_code_is_422_and_changes_nothing(
    settings: Settings, site: Site, sessions: async_sessionmaker[AsyncSession]
) -> None:
    fleet = fleet_of(site)
    async with serve(app_with(settings, site, sessions, fleet)) as client:
        unknown = await client.post(
            URL, json={"device_id": "pipe-9", "code": "leak", "action": "inject"}
        )
        alien = await client.post(
            URL, json={"device_id": "pipe-1", "code": "smoke", "action": "inject"}
        )
        codeless = await client.post(URL, json={"device_id": "pipe-1", "action": "inject"})
        bad_action = await client.post(
            URL, json={"device_id": "pipe-1", "code": "leak", "action": "explode"}
        )
    assert unknown.status_code == 422
    assert "pipe-9" in unknown.json()["detail"]
    assert alien.status_code == 422
    assert "leak" in alien.json()["detail"]  # the codes it does have
    assert codeless.status_code == 422
    assert bad_action.status_code == 422
    assert fleet.faults("pipe-1") == ()


async def test_without_a_fleet_it_is_404(
    settings: Settings, site: Site, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with serve(app_with(settings, site, sessions, None)) as client:
        response = await client.post(
            URL, json={"device_id": "pipe-1", "code": "leak", "action": "inject"}
        )
    assert response.status_code == 404
    assert "no simulated fleet" in response.json()["detail"]


async def test_it_needs_the_admin_token(
    settings: Settings, site: Site, sessions: async_sessionmaker[AsyncSession]
) -> None:
    fleet = fleet_of(site)
    async with serve(app_with(settings, site, sessions, fleet), token=None) as client:
        response = await client.post(
            URL, json={"device_id": "pipe-1", "code": "leak", "action": "inject"}
        )
    assert response.status_code == 401
    assert fleet.faults("pipe-1") == ()
