"""Episodes and work orders against a real database: dedup, recurrence, recovery, queries.

The queries are the API's (``api.workorders.queries``, ``api.devices.queries``): one idea of an
open episode (``ended_at IS NULL``) and one device status enum for the whole product.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.errors import InvalidEventError, UnknownFaultCodeError
from alerts.orders.keys import insert_unless_open, open_key
from alerts.orders.raising import DEFAULT_REOPEN_WINDOW
from alerts.orders.routing import priority_of
from api.devices.queries import get_device, list_devices
from api.devices.schemas import DeviceStatus
from api.errors import NotFoundError
from api.listing import Page
from api.workorders.queries import WorkOrderFilter, get_work_order, list_work_orders
from core.events import DeviceEvent, EventSource
from governance.model import CareColour, Site
from sensors.catalogue import OFFLINE, Severity
from storage.relational.models import Episode, OrderStatus, WorkOrder
from tests.alerts.conftest import LIGHT_RED, PIPE_YELLOW, SHED_GREEN, T0, build_site, make_event
from tests.alerts.raising_support import record_fault_cleared, record_fault_raised

Sessions = async_sessionmaker[AsyncSession]
LATER = T0 + timedelta(minutes=5)


async def raise_(sessions: Sessions, site: Site, event: DeviceEvent) -> WorkOrder | None:
    async with sessions.begin() as session:
        return await record_fault_raised(session, site=site, event=event, now=event.ts)


async def clear(sessions: Sessions, event: DeviceEvent) -> WorkOrder | None:
    async with sessions.begin() as session:
        return await record_fault_cleared(session, site=build_site(), event=event, now=event.ts)


async def all_orders(sessions: Sessions) -> list[WorkOrder]:
    async with sessions() as session:
        return list((await session.scalars(select(WorkOrder).order_by(WorkOrder.id))).all())


async def all_episodes(sessions: Sessions) -> list[Episode]:
    async with sessions() as session:
        return list((await session.scalars(select(Episode).order_by(Episode.id))).all())


async def test_raise_opens_one_routed_order_and_an_episode(sessions: Sessions, site: Site) -> None:
    order = await raise_(sessions, site, make_event(LIGHT_RED, "short_circuit"))

    assert order is not None
    [stored] = await all_orders(sessions)
    assert stored.id == order.id
    assert stored.device_id == LIGHT_RED
    assert stored.fault_code == "short_circuit"
    assert stored.severity == Severity.MAJOR
    assert stored.status == OrderStatus.OPEN
    assert (stored.team_id, stored.grid_id, stored.community_id) == ("t1", "g1", "c1")
    assert (stored.building_id, stored.assignee, stored.tier) == ("b-red", "mem-1", "grid")
    assert stored.priority == priority_of(severity=Severity.MAJOR, care=CareColour.RED)
    assert stored.occurrences == 1
    assert stored.open_key == open_key(LIGHT_RED, "short_circuit")
    assert stored.created_at == T0
    assert stored.recovered_at is None

    [episode] = await all_episodes(sessions)
    assert (episode.device_id, episode.code, episode.work_order_id) == (
        LIGHT_RED,
        "short_circuit",
        order.id,
    )
    assert episode.started_at == T0
    assert episode.ended_at is None


async def test_raise_again_while_open_changes_nothing(sessions: Sessions, site: Site) -> None:
    first = await raise_(sessions, site, make_event(LIGHT_RED, "short_circuit"))
    second = await raise_(sessions, site, make_event(LIGHT_RED, "short_circuit", ts=LATER))

    assert first is not None
    assert second is None
    [order] = await all_orders(sessions)
    assert order.occurrences == 1
    assert len(await all_episodes(sessions)) == 1


async def test_each_fault_code_and_device_gets_its_own_order(
    sessions: Sessions, site: Site
) -> None:
    await raise_(sessions, site, make_event(LIGHT_RED, "short_circuit"))
    await raise_(sessions, site, make_event(LIGHT_RED, "no_power"))
    await raise_(sessions, site, make_event(PIPE_YELLOW, "leak"))

    orders = await all_orders(sessions)
    assert {(o.device_id, o.fault_code) for o in orders} == {
        (LIGHT_RED, "short_circuit"),
        (LIGHT_RED, "no_power"),
        (PIPE_YELLOW, "leak"),
    }
    assert {o.team_id for o in orders if o.device_id == PIPE_YELLOW} == {"t2"}


async def test_clear_ends_the_episode_and_marks_the_order_recovered(
    sessions: Sessions, site: Site
) -> None:
    opened = await raise_(sessions, site, make_event(LIGHT_RED, "short_circuit"))
    recovered = await clear(
        sessions, make_event(LIGHT_RED, "short_circuit", active=False, ts=LATER)
    )

    assert opened is not None and recovered is not None
    assert recovered.id == opened.id
    [order] = await all_orders(sessions)
    assert order.status == OrderStatus.OPEN  # a person closes it, not the sensor
    assert order.recovered_at == LATER
    assert order.open_key is not None
    assert order.version > opened.version  # API writers holding the old version see a conflict
    [episode] = await all_episodes(sessions)
    assert episode.ended_at == LATER
    assert episode.open_key is None


async def test_clear_without_an_open_episode_is_a_no_op(sessions: Sessions, site: Site) -> None:
    assert await clear(sessions, make_event(LIGHT_RED, "short_circuit", active=False)) is None
    assert await all_orders(sessions) == []


async def test_clear_before_the_raise_time_never_gives_a_negative_episode(
    sessions: Sessions, site: Site
) -> None:
    # Two clocks: the device reported the fault, the gateway's rules saw it clear; the
    # device's clock runs behind the gateway's.
    raised = make_event(LIGHT_RED, "short_circuit", ts=LATER, source=EventSource.DEVICE)
    await raise_(sessions, site, raised)
    await clear(sessions, make_event(LIGHT_RED, "short_circuit", active=False, ts=T0))

    [episode] = await all_episodes(sessions)
    assert episode.ended_at == episode.started_at == LATER


async def test_a_clear_older_than_the_raise_on_the_same_clock_is_ignored(
    sessions: Sessions, site: Site
) -> None:
    await raise_(sessions, site, make_event(LIGHT_RED, "short_circuit", ts=LATER))
    await clear(sessions, make_event(LIGHT_RED, "short_circuit", active=False, ts=T0))

    [episode] = await all_episodes(sessions)
    assert episode.started_at == LATER and episode.ended_at is None


async def test_recurrence_while_not_closed_reuses_the_order(sessions: Sessions, site: Site) -> None:
    first = await raise_(sessions, site, make_event(LIGHT_RED, "short_circuit"))
    await clear(sessions, make_event(LIGHT_RED, "short_circuit", active=False, ts=LATER))
    again = await raise_(
        sessions, site, make_event(LIGHT_RED, "short_circuit", ts=LATER + timedelta(minutes=1))
    )

    assert first is not None and again is not None
    assert again.id == first.id
    [order] = await all_orders(sessions)
    assert order.occurrences == 2
    assert order.recovered_at is None  # the fault is back
    episodes = await all_episodes(sessions)
    assert [e.work_order_id for e in episodes] == [first.id, first.id]
    assert [e.ended_at is None for e in episodes] == [False, True]


async def test_recurrence_after_resolve_reopens_the_same_order(
    sessions: Sessions, site: Site
) -> None:
    first = await raise_(sessions, site, make_event(LIGHT_RED, "short_circuit"))
    await clear(sessions, make_event(LIGHT_RED, "short_circuit", active=False, ts=LATER))
    assert first is not None
    async with sessions.begin() as session:
        order = await session.get_one(WorkOrder, first.id)
        order.status = OrderStatus.RESOLVED.value
        order.resolved_at = LATER

    again = await raise_(
        sessions, site, make_event(LIGHT_RED, "short_circuit", ts=LATER + timedelta(hours=1))
    )

    assert again is not None and again.id == first.id
    [order] = await all_orders(sessions)
    assert order.status == OrderStatus.OPEN
    assert order.resolved_at is None
    assert order.occurrences == 2


async def test_after_the_reopen_window_a_closed_order_stays_closed(
    sessions: Sessions, site: Site
) -> None:
    first = await raise_(sessions, site, make_event(LIGHT_RED, "short_circuit"))
    await clear(sessions, make_event(LIGHT_RED, "short_circuit", active=False, ts=LATER))
    assert first is not None
    async with sessions.begin() as session:
        order = await session.get_one(WorkOrder, first.id)
        order.status = OrderStatus.CLOSED.value
        order.closed_at = LATER
        order.open_key = None

    past_window = LATER + DEFAULT_REOPEN_WINDOW + timedelta(seconds=1)
    second = await raise_(sessions, site, make_event(LIGHT_RED, "short_circuit", ts=past_window))

    assert second is not None and second.id != first.id
    orders = await all_orders(sessions)
    assert [(o.status, o.occurrences) for o in orders] == [
        (OrderStatus.CLOSED, 1),
        (OrderStatus.OPEN, 1),
    ]


async def test_offline_opens_an_order_with_the_profile_offline_severity(
    sessions: Sessions, site: Site
) -> None:
    event = make_event(SHED_GREEN, OFFLINE, source=EventSource.LIVENESS)
    assert event.severity is Severity.MAJOR  # charging sheds: offline is major

    order = await raise_(sessions, site, event)

    assert order is not None
    assert (order.fault_code, order.severity, order.assignee) == (OFFLINE, "major", "lead-1")
    assert order.priority == priority_of(severity=Severity.MAJOR, care=CareColour.GREEN)


async def test_unknown_fault_code_changes_nothing(sessions: Sessions, site: Site) -> None:
    with pytest.raises(UnknownFaultCodeError, match="burst"):
        await raise_(sessions, site, make_event(LIGHT_RED, "burst", severity=Severity.CRITICAL))
    assert await all_orders(sessions) == []
    assert await all_episodes(sessions) == []


async def test_naive_timestamp_is_rejected(sessions: Sessions, site: Site) -> None:
    event = make_event(LIGHT_RED, "short_circuit", ts=T0.replace(tzinfo=None))
    with pytest.raises(InvalidEventError, match="time zone"):
        await raise_(sessions, site, event)
    assert await all_episodes(sessions) == []


async def test_a_failed_transaction_leaves_neither_episode_nor_order(
    sessions: Sessions, site: Site
) -> None:
    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with sessions.begin() as session:
            order = await record_fault_raised(
                session, site=site, event=make_event(LIGHT_RED, "short_circuit"), now=T0
            )
            assert order is not None
            raise Abort

    assert await all_episodes(sessions) == []
    assert await all_orders(sessions) == []


async def test_insert_unless_open_falls_back_when_the_key_is_taken(sessions: Sessions) -> None:
    key = open_key(LIGHT_RED, "short_circuit")
    values = {
        "device_id": LIGHT_RED,
        "code": "short_circuit",
        "severity": "major",
        "source": "rule",
        "started_at": T0,
        "open_key": key,
    }
    async with sessions.begin() as session:
        assert await insert_unless_open(session, Episode, values) is not None
    async with sessions.begin() as session:
        assert await insert_unless_open(session, Episode, values) is None
        # The transaction is still usable after the conflict.
        count = await session.scalar(select(func.count()).select_from(Episode))
    assert count == 1


async def test_list_work_orders_filters_and_pages(sessions: Sessions, site: Site) -> None:
    await raise_(sessions, site, make_event(LIGHT_RED, "short_circuit", ts=T0))
    await raise_(sessions, site, make_event(SHED_GREEN, "smoke", ts=T0 + timedelta(seconds=1)))
    await raise_(sessions, site, make_event(PIPE_YELLOW, "leak", ts=T0 + timedelta(seconds=2)))
    ten = Page(limit=10, offset=0)

    async def devices(where: WorkOrderFilter, page: Page = ten) -> list[str | None]:
        listed = await list_work_orders(session, where=where, page=page)
        return [order.device_id for order in listed.rows]

    async with sessions() as session:
        assert await devices(WorkOrderFilter()) == [PIPE_YELLOW, SHED_GREEN, LIGHT_RED]
        assert set(await devices(WorkOrderFilter(team_id="t1"))) == {LIGHT_RED, SHED_GREEN}
        assert await devices(WorkOrderFilter(grid_id="g2")) == [PIPE_YELLOW]
        assert await devices(WorkOrderFilter(device_id=SHED_GREEN)) == [SHED_GREEN]
        assert await devices(WorkOrderFilter(statuses=[OrderStatus.CLOSED])) == []
        assert len(await devices(WorkOrderFilter(statuses=[OrderStatus.OPEN]))) == 3
        page = await list_work_orders(
            session, where=WorkOrderFilter(), page=Page(limit=1, offset=1)
        )
        assert [o.device_id for o in page.rows] == [SHED_GREEN]
        assert page.total == 3
        fetched = await get_work_order(session, order_id=page.rows[0].id)
        assert fetched.fault_code == "smoke"
        with pytest.raises(NotFoundError):
            await get_work_order(session, order_id=page.rows[0].id + 1000)


async def test_open_faults_and_device_statuses(sessions: Sessions, site: Site) -> None:
    await raise_(sessions, site, make_event(LIGHT_RED, "short_circuit"))
    await raise_(sessions, site, make_event(SHED_GREEN, "overheat"))
    await raise_(sessions, site, make_event(SHED_GREEN, OFFLINE, source=EventSource.LIVENESS))
    await raise_(sessions, site, make_event(PIPE_YELLOW, "leak"))
    await clear(sessions, make_event(PIPE_YELLOW, "leak", active=False, ts=LATER))

    async with sessions() as session:
        views = await list_devices(session, site=site)
        assert {view.route.device.id: view.status for view in views} == {
            LIGHT_RED: DeviceStatus.FAULT,
            SHED_GREEN: DeviceStatus.OFFLINE,
            PIPE_YELLOW: DeviceStatus.OK,
        }
        faulty = await list_devices(session, site=site, status=DeviceStatus.FAULT)
        assert [view.route.device.id for view in faulty] == [LIGHT_RED]
        shed = await get_device(session, site=site, device_id=SHED_GREEN)
        assert shed is not None
        assert sorted(e.code for e in shed.open_episodes) == [OFFLINE, "overheat"]
        with_open = {view.route.device.id for view in views if view.open_episodes}
        assert with_open == {LIGHT_RED, SHED_GREEN}
