"""Root-cause grouping end to end: 30 silent devices → ONE building incident and ONE building
order (real Mosquitto, gateway, AlertsSink on a migrated SQLite); one silent device → only it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.orders.incidents import incident_devices
from alerts.orders.keys import incident_key
from alerts.sink import AlertsSink
from core.clock import ManualClock
from gateway.service import Gateway
from sensors.catalogue import OFFLINE
from sensors.profiles import PROFILES
from storage.relational.models import Episode, OrderScope, WorkOrder
from tests.detection.running import running_gateway, telemetry
from tests.detection.sites import TOWER, TOWER_LIGHTS, TOWER_SIZE, tower_site
from tests.gateway.waiting import until
from tests.servers.mosquitto import MosquittoServer

pytestmark = pytest.mark.integration

START = datetime(2025, 6, 1, 20, 0, tzinfo=UTC)
LIGHT_PARAMS = PROFILES["corridor_light"].params
SILENCE_LIMIT_S = LIGHT_PARAMS["heartbeat_s"] * LIGHT_PARAMS["offline_after_heartbeats"]
GROUP_WAIT_S = 60.0
HEALTHY = {"lamp_on": False, "current_a": 0.0, "voltage_v": 221.0}


async def speak(gateway: Gateway, mosquitto: MosquittoServer, devices: tuple[str, ...]) -> None:
    """Each device sends one healthy reading (stamped by the gateway's clock) and it is taken."""
    expected = gateway.stats.accepted + len(devices)
    for device_id in devices:
        telemetry(mosquitto, device_id, metrics=HEALTHY)
    await until(lambda: gateway.stats.accepted == expected, f"{len(devices)} readings accepted")


async def test_thirty_devices_going_silent_raise_exactly_one_building_incident_and_order(
    mosquitto: MosquittoServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    clock = ManualClock(START)
    site = tower_site()
    alerts = AlertsSink(sessions=sessions, site=site, clock=clock)
    async with running_gateway(
        mosquitto, site, sink=alerts, clock=clock, group_wait_s=GROUP_WAIT_S
    ) as (gateway, sink):
        await speak(gateway, mosquitto, TOWER_LIGHTS)
        clock.advance(SILENCE_LIMIT_S)  # the whole tower loses power and goes silent
        await until(
            lambda: all(gateway.liveness.is_offline(d) for d in TOWER_LIGHTS), "all 30 offline"
        )
        assert gateway.correlator.next_due() is not None  # the wave is held, nothing sent yet
        assert sink.events == [] and sink.incidents == []
        clock.advance(GROUP_WAIT_S)
        await until(lambda: sink.incidents, "the building incident")
        await until(lambda: alerts.stats.handled == 1, "alerts handled the incident")

        (incident,) = sink.incidents
        assert sink.events == []  # not one per-device event
        assert (incident.building_id, incident.code, incident.active) == (TOWER, OFFLINE, True)
        assert sorted(incident.device_ids) == sorted(TOWER_LIGHTS)
        assert gateway.stats.incidents_opened == 1
        async with sessions() as session:
            orders = (await session.scalars(select(WorkOrder))).all()
            (order,) = orders
            assert (order.scope, order.device_id, order.building_id, order.open_key) == (
                OrderScope.BUILDING.value,
                None,
                TOWER,
                incident_key(TOWER, OFFLINE),
            )
            assert (order.team_id, order.assignee) == ("team", "warden")
            episodes = (await session.scalars(select(Episode))).all()
            assert len(episodes) == TOWER_SIZE
            assert {e.work_order_id for e in episodes} == {order.id}
            assert all(e.open_key is not None for e in episodes)
            attached = await incident_devices(session, order_id=order.id)
            assert sorted(a.device_id for a in attached) == sorted(TOWER_LIGHTS)

        # Power is back: every device speaks again; the last one back closes the incident.
        await speak(gateway, mosquitto, TOWER_LIGHTS)
        await until(lambda: not sink.incidents[-1].active, "the incident closed")
        await until(lambda: alerts.stats.handled == 1 + TOWER_SIZE, "alerts handled every return")
        assert len(sink.incidents) == 1 + TOWER_SIZE and sink.events == []
        async with sessions() as session:
            (order,) = (await session.scalars(select(WorkOrder))).all()
            assert order.recovered_at is not None
            episodes = (await session.scalars(select(Episode))).all()
            assert len(episodes) == TOWER_SIZE and all(e.ended_at for e in episodes)
            attached = await incident_devices(session, order_id=order.id)
            assert all(a.detached_at is not None for a in attached)


async def test_one_device_going_silent_raises_only_that_device(
    mosquitto: MosquittoServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    clock = ManualClock(START)
    site = tower_site()
    alerts = AlertsSink(sessions=sessions, site=site, clock=clock)
    dead, alive = TOWER_LIGHTS[0], TOWER_LIGHTS[1:]
    async with running_gateway(
        mosquitto, site, sink=alerts, clock=clock, group_wait_s=GROUP_WAIT_S
    ) as (gateway, sink):
        await speak(gateway, mosquitto, TOWER_LIGHTS)
        clock.advance(SILENCE_LIMIT_S / 2)
        await speak(gateway, mosquitto, alive)  # the rest keep their heartbeat
        clock.advance(SILENCE_LIMIT_S / 2)
        await until(lambda: gateway.correlator.next_due() is not None, "the offline event held")
        clock.advance(GROUP_WAIT_S)
        await until(lambda: sink.events, "the device's own offline event")
        await until(lambda: alerts.stats.handled == 1, "alerts handled it")

        assert [(e.device_id, e.code, e.active) for e in sink.events] == [(dead, OFFLINE, True)]
        assert sink.incidents == []
        async with sessions() as session:
            (order,) = (await session.scalars(select(WorkOrder))).all()
            assert (order.scope, order.device_id, order.fault_code) == (
                OrderScope.DEVICE.value,
                dead,
                OFFLINE,
            )
