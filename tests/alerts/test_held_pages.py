"""Held pages on SQLite and PostgreSQL: state at once, pages after the grouping decision.

Every test ends with :func:`assert_no_order_for_a_device_already_back`: no order anywhere may be
marked recovered before it was created.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.orders.changes import ChangeKind, OrderChange
from alerts.orders.grouping import GroupingPolicy, Topology
from alerts.orders.held_pages import Decided, HeldPageDecider, decide_held_pages
from alerts.orders.incidents import incident_devices
from alerts.orders.raising import handle_event
from api.devices.queries import list_devices
from api.devices.schemas import DeviceStatus
from core.clock import ManualClock
from core.events import DeviceEvent, EventSource
from core.settings import Settings
from governance.model import Site, Tier
from sensors.catalogue import OFFLINE, Severity
from storage.relational.models import Episode, OrderScope, WorkOrder
from tests.alerts.conftest import T0
from tests.detection.sites import TOWER, TOWER_LIGHTS, street_lights, street_site, tower_site

Sessions = async_sessionmaker[AsyncSession]
POLICY = GroupingPolicy.of(Settings(), tower_site())
HOLD = POLICY.hold
REOPEN_WINDOW = timedelta(days=1)


def offline(device_id: str, *, at: datetime, active: bool = True) -> DeviceEvent:
    return DeviceEvent(device_id, OFFLINE, active, Severity.MINOR, at, EventSource.LIVENESS)


async def apply(
    sessions: Sessions, site: Site, events: Iterable[DeviceEvent], *, now: datetime
) -> list[OrderChange]:
    """Commit events as the intake does, with the grouping policy in force."""
    changes: list[OrderChange] = []
    async with sessions.begin() as session:
        for event in events:
            changes += await handle_event(session, site=site, event=event, now=now, grouping=POLICY)
    return changes


async def decide(sessions: Sessions, site: Site, *, now: datetime) -> Decided:
    async with sessions.begin() as session:
        return await decide_held_pages(
            session,
            site=site,
            topology=Topology(site),
            policy=POLICY,
            now=now,
            reopen_window=REOPEN_WINDOW,
        )


async def orders(sessions: Sessions) -> list[WorkOrder]:
    async with sessions() as session:
        return list((await session.scalars(select(WorkOrder).order_by(WorkOrder.id))).all())


async def episodes(sessions: Sessions) -> list[Episode]:
    async with sessions() as session:
        return list((await session.scalars(select(Episode).order_by(Episode.id))).all())


async def assert_no_order_for_a_device_already_back(sessions: Sessions) -> None:
    for order in await orders(sessions):
        assert order.recovered_at is None or order.recovered_at >= order.created_at, order.id


async def test_a_blip_inside_the_hold_shows_offline_at_once_and_pages_nobody(
    sessions: Sessions,
) -> None:
    site = tower_site()
    changes = await apply(sessions, site, [offline(d, at=T0) for d in TOWER_LIGHTS], now=T0)
    assert changes == []  # nobody paged yet
    async with sessions() as session:  # ...but the device list shows them offline now
        shown = await list_devices(session, site=site, status=DeviceStatus.OFFLINE)
    assert sorted(view.route.device.id for view in shown) == sorted(TOWER_LIGHTS)

    back = T0 + HOLD / 2
    await apply(sessions, site, [offline(d, at=back, active=False) for d in TOWER_LIGHTS], now=back)
    assert (await decide(sessions, site, now=T0 + HOLD / 2)).changes == []  # not due yet
    decided = await decide(sessions, site, now=T0 + HOLD)

    assert (decided.changes, decided.dropped) == ([], len(TOWER_LIGHTS))
    assert await orders(sessions) == []
    recorded = await episodes(sessions)
    assert [(e.started_at, e.ended_at, e.page_due_at) for e in recorded] == [
        (T0, back, None)
    ] * len(TOWER_LIGHTS)  # uptime still sees every outage, exactly


async def test_an_outage_past_the_hold_is_one_building_incident_closed_by_the_last_return(
    sessions: Sessions,
) -> None:
    site = tower_site()
    await apply(sessions, site, [offline(d, at=T0) for d in TOWER_LIGHTS], now=T0)
    decided = await decide(sessions, site, now=T0 + HOLD)

    assert [c.kind for c in decided.changes] == [ChangeKind.OPENED]
    (order,) = await orders(sessions)
    assert (order.scope, order.building_id, order.tier, order.device_id) == (
        OrderScope.BUILDING,
        TOWER,
        Tier.GRID.value,
        None,
    )
    assert {e.work_order_id for e in await episodes(sessions)} == {order.id}

    first_back, last_back = T0 + 2 * HOLD, T0 + 3 * HOLD
    returns = [offline(d, at=first_back, active=False) for d in TOWER_LIGHTS[1:]]
    assert await apply(sessions, site, returns, now=first_back) == []  # one still down
    last = offline(TOWER_LIGHTS[0], at=last_back, active=False)
    (recovered,) = await apply(sessions, site, [last], now=last_back)
    assert (recovered.kind, recovered.order_id) == (ChangeKind.RECOVERED, order.id)
    (order,) = await orders(sessions)
    assert order.recovered_at == last_back
    async with sessions() as session:
        attached = await incident_devices(session, order_id=order.id)
    assert len(attached) == len(TOWER_LIGHTS) and all(a.detached_at for a in attached)
    await assert_no_order_for_a_device_already_back(sessions)


async def test_a_late_return_in_a_wave_joins_one_incident_not_its_own_order(
    sessions: Sessions,
) -> None:
    site = tower_site()
    await apply(sessions, site, [offline(d, at=T0) for d in TOWER_LIGHTS], now=T0)
    back = T0 + HOLD / 2
    returns = [offline(d, at=back, active=False) for d in TOWER_LIGHTS[2:]]
    await apply(sessions, site, returns, now=back)
    decided = await decide(sessions, site, now=T0 + HOLD)

    assert decided.grouped == 2 and decided.dropped == len(TOWER_LIGHTS) - 2
    (order,) = await orders(sessions)
    assert order.scope == OrderScope.BUILDING
    async with sessions() as session:
        attached = await incident_devices(session, order_id=order.id)
    assert sorted(a.device_id for a in attached) == sorted(TOWER_LIGHTS[:2])
    await assert_no_order_for_a_device_already_back(sessions)


async def test_a_device_down_while_the_incident_is_open_joins_it_at_once(
    sessions: Sessions,
) -> None:
    site = tower_site()
    await apply(sessions, site, [offline(d, at=T0) for d in TOWER_LIGHTS[1:]], now=T0)
    await decide(sessions, site, now=T0 + HOLD)
    late = T0 + 2 * HOLD
    await apply(sessions, site, [offline(TOWER_LIGHTS[0], at=late)], now=late)

    (order,) = await orders(sessions)
    joined = [e for e in await episodes(sessions) if e.device_id == TOWER_LIGHTS[0]]
    assert [(e.work_order_id, e.page_due_at) for e in joined] == [(order.id, None)]


async def test_one_device_down_past_the_hold_gets_its_own_order_then(sessions: Sessions) -> None:
    site = tower_site()
    dead, blip = TOWER_LIGHTS[0], TOWER_LIGHTS[1]
    await apply(sessions, site, [offline(dead, at=T0), offline(blip, at=T0)], now=T0)
    await apply(sessions, site, [offline(blip, at=T0 + HOLD / 2, active=False)], now=T0)
    assert await orders(sessions) == []

    decided = await decide(sessions, site, now=T0 + HOLD)
    assert (decided.own_orders, decided.dropped) == (1, 1)
    (order,) = await orders(sessions)
    assert (order.scope, order.device_id, order.fault_code) == (OrderScope.DEVICE, dead, OFFLINE)
    assert order.created_at == T0 + HOLD
    await assert_no_order_for_a_device_already_back(sessions)


async def test_a_street_wide_outage_is_one_street_incident_naming_the_likely_cause(
    sessions: Sessions,
) -> None:
    site = street_site()
    everything = street_lights()
    await apply(sessions, site, [offline(d, at=T0) for d in everything], now=T0)
    await decide(sessions, site, now=T0 + HOLD)

    (order,) = await orders(sessions)
    assert (order.scope, order.tier, order.open_key) == (
        OrderScope.STREET,
        Tier.STREET.value,
        f"street:xin:{OFFLINE}",
    )
    assert "broker" in order.detail and "network" in order.detail
    assert f"{len(everything)} of {len(everything)} devices in 2 communities" in order.detail
    assert {e.work_order_id for e in await episodes(sessions)} == {order.id}


async def test_one_community_down_is_one_community_incident_at_the_community_tier(
    sessions: Sessions,
) -> None:
    site = street_site()
    await apply(sessions, site, [offline(d, at=T0) for d in street_lights("south")], now=T0)
    await decide(sessions, site, now=T0 + HOLD)

    (order,) = await orders(sessions)
    assert (order.scope, order.tier, order.community_id) == (
        OrderScope.COMMUNITY,
        Tier.COMMUNITY.value,
        "south",
    )


async def test_two_deciders_at_once_open_exactly_one_incident(sessions: Sessions) -> None:
    site = street_site()
    await apply(sessions, site, [offline(d, at=T0) for d in street_lights()], now=T0)
    clock = ManualClock(T0 + HOLD)
    deciders = [
        HeldPageDecider(sessions=sessions, site=site, settings=Settings(), clock=clock)
        for _ in range(2)
    ]
    await asyncio.gather(*(d.decide_once() for d in deciders))

    (order,) = await orders(sessions)
    assert order.scope == OrderScope.STREET
    assert sum(d.stats.grouped for d in deciders) == len(street_lights())
    assert sum(d.stats.opened for d in deciders) == 1
