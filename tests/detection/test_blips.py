"""A street-wide blip on real Mosquitto: every device's last will at once (issue 10).

Every device of a two-community test street holds a connection with a retained last will; the
test drops them all without DISCONNECT, so the broker publishes every will, as a broker or
network blip does. The gateway hands the ``offline`` events to the production intake at once
(the device list shows them offline during the outage); the held-page decision then opens
nothing when all came back inside the hold, and ONE street incident when the outage lasts.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.intake import EventIntake
from alerts.orders.held_pages import HeldPageDecider
from alerts.orders.incidents import incident_devices
from api.devices.queries import list_devices
from api.devices.schemas import DeviceStatus
from core.clock import ManualClock
from core.settings import Settings
from gateway.service import Gateway
from governance.model import Tier
from sensors.catalogue import OFFLINE
from sensors.contract import STATUS_OFFLINE, STATUS_ONLINE, status_topic
from storage.relational.models import Episode, OrderScope, WorkOrder
from tests.detection.running import running_gateway
from tests.detection.sites import street_lights, street_site
from tests.gateway.waiting import until
from tests.servers.mosquitto import MosquittoServer

pytestmark = pytest.mark.integration

START = datetime(2025, 6, 1, 20, 0, tzinfo=UTC)
GROUP_WAIT_S = 60.0
STREET = street_lights()
Sessions = async_sessionmaker[AsyncSession]


@dataclass
class Running:
    """The gateway, the production intake and the held-page decision of one street."""

    gateway: Gateway
    intake: EventIntake
    decider: HeldPageDecider
    clock: ManualClock


@asynccontextmanager
async def street_service(mosquitto: MosquittoServer, sessions: Sessions) -> AsyncIterator[Running]:
    clock = ManualClock(START)
    site = street_site()
    settings = Settings(group_wait_s=GROUP_WAIT_S)
    decider = HeldPageDecider(sessions=sessions, site=site, settings=settings, clock=clock)
    intake = EventIntake(sessions=sessions, site=site, settings=settings, clock=clock)
    async with (
        intake,
        running_gateway(mosquitto, site, sink=intake, clock=clock, group_wait_s=GROUP_WAIT_S) as (
            gateway,
            _,
        ),
    ):
        yield Running(gateway, intake, decider, clock)


def connect_every_device(mosquitto: MosquittoServer) -> list[socket.socket]:
    """One connection per device, each holding its retained ``offline`` last will."""
    return [
        mosquitto.connect_with_will(
            client_id=device_id,
            will_topic=status_topic(device_id),
            will_payload=STATUS_OFFLINE.encode(),
        )
        for device_id in STREET
    ]


async def blip(mosquitto: MosquittoServer, running: Running) -> None:
    """Every connection dies at once; return when every last will is committed by alerts."""
    for connection in connect_every_device(mosquitto):
        connection.close()  # no DISCONNECT: the broker publishes the will
    await until(lambda: running.intake.stats.committed == len(STREET), "every last will committed")


async def come_back(mosquitto: MosquittoServer, running: Running) -> None:
    """Every device reconnects and publishes its birth; return when alerts committed them."""
    for device_id in STREET:
        await asyncio.to_thread(
            mosquitto.publish, status_topic(device_id), STATUS_ONLINE, retain=True
        )
    await until(lambda: running.intake.stats.committed == 2 * len(STREET), "every return")


async def shown_offline(sessions: Sessions) -> list[str]:
    async with sessions() as session:
        views = await list_devices(session, site=street_site(), status=DeviceStatus.OFFLINE)
    return [view.route.device.id for view in views]


async def rows(sessions: Sessions) -> tuple[list[WorkOrder], list[Episode]]:
    async with sessions() as session:
        orders = (await session.scalars(select(WorkOrder))).all()
        episodes = (await session.scalars(select(Episode))).all()
    return list(orders), list(episodes)


async def test_a_street_wide_blip_back_inside_the_hold_opens_no_order(
    mosquitto: MosquittoServer, sessions: Sessions
) -> None:
    async with street_service(mosquitto, sessions) as running:
        await blip(mosquitto, running)
        # State at once: every device of the street is offline in the device list now.
        assert sorted(await shown_offline(sessions)) == sorted(STREET)
        assert (await running.decider.decide_once()).changes == []

        running.clock.advance(GROUP_WAIT_S / 2)
        await come_back(mosquitto, running)
        assert await shown_offline(sessions) == []
        running.clock.advance(GROUP_WAIT_S / 2)
        decided = await running.decider.decide_once()

    assert (decided.changes, decided.dropped) == ([], len(STREET))
    orders, episodes = await rows(sessions)
    assert orders == []
    # Uptime still records every outage, with its exact start and end.
    back = START + timedelta(seconds=GROUP_WAIT_S / 2)
    assert sorted((e.device_id, e.code, e.started_at, e.ended_at) for e in episodes) == [
        (device_id, OFFLINE, START, back) for device_id in sorted(STREET)
    ]


async def test_a_street_wide_outage_that_lasts_is_one_street_incident(
    mosquitto: MosquittoServer, sessions: Sessions
) -> None:
    async with street_service(mosquitto, sessions) as running:
        await blip(mosquitto, running)
        running.clock.advance(GROUP_WAIT_S)
        decided = await running.decider.decide_once()
        assert decided.grouped == len(STREET)

        orders, _ = await rows(sessions)
        (order,) = orders  # not one per device, nor one per building or community
        assert (order.scope, order.tier, order.device_id) == (
            OrderScope.STREET,
            Tier.STREET.value,
            None,
        )
        assert "broker" in order.detail and "network" in order.detail
        async with sessions() as session:
            attached = await incident_devices(session, order_id=order.id)
        assert sorted(a.device_id for a in attached) == sorted(STREET)

        running.clock.advance(GROUP_WAIT_S)
        await come_back(mosquitto, running)

    orders, episodes = await rows(sessions)
    (order,) = orders
    assert order.recovered_at is not None and order.recovered_at >= order.created_at
    assert all(e.ended_at is not None and e.work_order_id == order.id for e in episodes)
