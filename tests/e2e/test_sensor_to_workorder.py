"""The whole path through a real Mosquitto: telemetry → gateway → alerts → work order → API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from core.settings import BUNDLED_SITE, Settings
from fm.runner import GatewayProbe, Stores, alerts_intake, open_stores
from gateway.service import Gateway
from governance.loader import load_site
from governance.model import Site
from tests.e2e.helpers import eventually, mosquitto_pub

pytestmark = pytest.mark.integration

TOKEN = "e2e-admin-token-0123456789"
SHORT_CIRCUIT = json.dumps({"metrics": {"lamp_on": True, "current_a": 12, "voltage_v": 220}})
HEALTHY = json.dumps({"metrics": {"lamp_on": True, "current_a": 0.4, "voltage_v": 221}})


@dataclass
class Running:
    """The system under test and a client for its API."""

    site: Site
    gateway: Gateway
    stores: Stores
    api: httpx.AsyncClient
    mqtt_port: int


@pytest.fixture
async def system(mosquitto: Any, tmp_path: Path) -> AsyncIterator[Running]:
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
        await asyncio.wait_for(gateway.ready(), timeout=10)
        app = create_app(
            settings,
            site=site,
            sessions=stores.sessions,
            timeseries=stores.timeseries,
            readiness=[GatewayProbe(gateway)],
        )
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://fm.test",
                headers={"Authorization": f"Bearer {TOKEN}"},
            ) as client:
                yield Running(site, gateway, stores, client, mosquitto.port)


def a_corridor_light(site: Site) -> str:
    """The first corridor light of the bundled site."""
    return next(d.id for d in site.devices.values() if d.type == "corridor_light")


async def orders_for(system: Running, device_id: str) -> list[dict[str, Any]]:
    response = await system.api.get("/api/v1/workorders", params={"device_id": device_id})
    assert response.status_code == 200, response.text
    orders: list[dict[str, Any]] = response.json()
    return orders


async def test_short_circuit_opens_one_order_routed_to_the_grid_team(system: Running) -> None:
    device_id = a_corridor_light(system.site)
    route = system.site.route(device_id)

    mosquitto_pub(port=system.mqtt_port, topic=f"fm/{device_id}/telemetry", message=SHORT_CIRCUIT)

    async def one_order() -> list[dict[str, Any]] | None:
        return await orders_for(system, device_id) or None

    orders = await eventually(one_order, within=10, what="a work order")
    assert len(orders) == 1
    order = orders[0]
    assert order["fault_code"] == "short_circuit"
    assert order["severity"] == "major"
    assert order["status"] == "open"
    assert order["tier"] == "grid"
    assert order["team_id"] == route.team.id
    assert order["grid_id"] == route.grid.id
    assert order["building_id"] == route.building.id
    assert order["assignee"] == route.assignee.id

    device = (await system.api.get(f"/api/v1/devices/{device_id}")).json()
    assert device["status"] == "fault"
    assert [f["code"] for f in device["open_faults"]] == ["short_circuit"]

    # The same fault again: still one order.
    received_before = system.gateway.stats.received
    mosquitto_pub(port=system.mqtt_port, topic=f"fm/{device_id}/telemetry", message=SHORT_CIRCUIT)

    async def processed() -> bool:
        return system.gateway.stats.received > received_before

    await eventually(processed, within=10, what="the second message to be processed")
    assert len(await orders_for(system, device_id)) == 1


async def test_fault_that_clears_and_recurs_reuses_the_open_order(system: Running) -> None:
    device_id = a_corridor_light(system.site)
    topic = f"fm/{device_id}/telemetry"

    mosquitto_pub(port=system.mqtt_port, topic=topic, message=SHORT_CIRCUIT)

    async def opened() -> list[dict[str, Any]] | None:
        return await orders_for(system, device_id) or None

    await eventually(opened, within=10, what="the order to open")

    mosquitto_pub(port=system.mqtt_port, topic=topic, message=HEALTHY)

    async def recovered() -> dict[str, Any] | None:
        orders = await orders_for(system, device_id)
        return orders[0] if orders and orders[0]["recovered_at"] else None

    order = await eventually(recovered, within=10, what="the sensor to report recovery")
    assert order["status"] == "open"  # a person closes it, not the sensor
    device = (await system.api.get(f"/api/v1/devices/{device_id}")).json()
    assert device["status"] == "ok"

    mosquitto_pub(port=system.mqtt_port, topic=topic, message=SHORT_CIRCUIT)

    async def recurred() -> dict[str, Any] | None:
        orders = await orders_for(system, device_id)
        return orders[0] if orders and orders[0]["occurrences"] == 2 else None

    order = await eventually(recurred, within=10, what="the recurrence to be counted")
    assert len(await orders_for(system, device_id)) == 1


async def test_bad_messages_change_nothing_and_the_loop_survives(system: Running) -> None:
    device_id = a_corridor_light(system.site)
    bad = [
        (f"fm/{device_id}/telemetry", "{not json"),
        (f"fm/{device_id}/telemetry", json.dumps({"metrics": {"current_a": "12"}})),
        (f"fm/{device_id}/telemetry", '{"metrics": {"current_a": NaN}}'),
        ("fm/no-such-device/telemetry", SHORT_CIRCUIT),
        (f"fm/{device_id}/telemetry", json.dumps({"ts": 1.0, "metrics": {"current_a": 12}})),
    ]
    for topic, message in bad:
        mosquitto_pub(port=system.mqtt_port, topic=topic, message=message)

    async def all_rejected() -> bool:
        return system.gateway.stats.rejected_total >= len(bad)

    await eventually(all_rejected, within=10, what="every bad message to be rejected")
    assert await orders_for(system, device_id) == []

    # The loop still works afterwards.
    mosquitto_pub(port=system.mqtt_port, topic=f"fm/{device_id}/telemetry", message=SHORT_CIRCUIT)

    async def opened() -> list[dict[str, Any]] | None:
        return await orders_for(system, device_id) or None

    assert len(await eventually(opened, within=10, what="the order after bad input")) == 1


async def test_readyz_reports_the_broker_connection(system: Running) -> None:
    response = await system.api.get("/readyz")
    assert response.status_code == 200, response.text
