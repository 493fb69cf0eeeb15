"""Root-cause grouping end to end: 30 silent devices → ONE building incident and ONE building
order (real Mosquitto, gateway, EventIntake and the held-page decision on a migrated SQLite); one
silent device → only it. Devices show offline at once; only the order waits for the hold."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.intake import EventIntake
from alerts.orders.held_pages import HeldPageDecider
from alerts.orders.incidents import incident_devices
from alerts.orders.keys import incident_key
from core.clock import ManualClock
from core.settings import Settings
from gateway.service import Gateway
from governance.model import Site
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


def alerts_side(
    sessions: async_sessionmaker[AsyncSession], site: Site, clock: ManualClock
) -> tuple[EventIntake, HeldPageDecider]:
    """The intake with the grouping hold in force, and the decision over held pages."""
    settings = Settings(group_wait_s=GROUP_WAIT_S)
    intake = EventIntake(sessions=sessions, site=site, settings=settings, clock=clock)
    return intake, HeldPageDecider(sessions=sessions, site=site, settings=settings, clock=clock)


async def open_episodes(sessions: async_sessionmaker[AsyncSession]) -> list[Episode]:
    """Episodes still open: what the device list shows as offline."""
    async with sessions() as session:
        return list(
            (await session.scalars(select(Episode).where(Episode.ended_at.is_(None)))).all()
        )


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
    alerts, decider = alerts_side(sessions, site, clock)
    async with (
        alerts,
        running_gateway(mosquitto, site, sink=alerts, clock=clock, group_wait_s=GROUP_WAIT_S) as (
            gateway,
            sink,
        ),
    ):
        await speak(gateway, mosquitto, TOWER_LIGHTS)
        clock.advance(SILENCE_LIMIT_S)  # the whole tower loses power and goes silent
        await until(lambda: alerts.stats.committed == TOWER_SIZE, "30 offline events committed")
        # State at once: every device is offline now; only the order waits for the hold.
        assert len(await open_episodes(sessions)) == TOWER_SIZE
        assert (await decider.decide_once()).changes == []
        async with sessions() as session:
            assert (await session.scalars(select(WorkOrder))).all() == []
        clock.advance(GROUP_WAIT_S)
        await decider.decide_once()

        assert sorted(e.device_id for e in sink.events) == sorted(TOWER_LIGHTS)
        assert sink.incidents == []  # the gateway groups nothing: alerts does
        assert (decider.stats.grouped, decider.stats.opened) == (TOWER_SIZE, 1)
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
        await until(lambda: alerts.stats.committed == 2 * TOWER_SIZE, "alerts handled every return")
        assert alerts.stats.recovered == 1  # the last one back closed the incident
        async with sessions() as session:
            (order,) = (await session.scalars(select(WorkOrder))).all()
            assert order.recovered_at is not None and order.recovered_at >= order.created_at
            episodes = (await session.scalars(select(Episode))).all()
            assert len(episodes) == TOWER_SIZE and all(e.ended_at for e in episodes)
            attached = await incident_devices(session, order_id=order.id)
            assert all(a.detached_at is not None for a in attached)


async def test_one_device_going_silent_raises_only_that_device(
    mosquitto: MosquittoServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    clock = ManualClock(START)
    site = tower_site()
    dead, alive = TOWER_LIGHTS[0], TOWER_LIGHTS[1:]
    alerts, decider = alerts_side(sessions, site, clock)
    async with (
        alerts,
        running_gateway(mosquitto, site, sink=alerts, clock=clock, group_wait_s=GROUP_WAIT_S) as (
            gateway,
            sink,
        ),
    ):
        await speak(gateway, mosquitto, TOWER_LIGHTS)
        clock.advance(SILENCE_LIMIT_S / 2)
        await speak(gateway, mosquitto, alive)  # the rest keep their heartbeat
        clock.advance(SILENCE_LIMIT_S / 2)
        await until(lambda: alerts.stats.committed == 1, "the offline event committed at once")
        assert [(e.device_id, e.code, e.active) for e in sink.events] == [(dead, OFFLINE, True)]
        assert [e.device_id for e in await open_episodes(sessions)] == [dead]
        clock.advance(GROUP_WAIT_S)
        await decider.decide_once()

        assert sink.incidents == []
        async with sessions() as session:
            (order,) = (await session.scalars(select(WorkOrder))).all()
            assert (order.scope, order.device_id, order.fault_code) == (
                OrderScope.DEVICE.value,
                dead,
                OFFLINE,
            )
