"""handle_events: a batch decided set-based ends exactly where one event at a time ends."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from alerts.errors import InvalidError
from alerts.orders.batch import device_segments
from alerts.orders.changes import ChangeKind
from alerts.orders.incidents import handle_building_event
from alerts.orders.raising import handle_event, handle_events
from core.events import BuildingEvent, DeviceEvent
from governance.model import Department, Device, Site
from sensors.catalogue import Severity
from storage.relational.lifecycle_models import OrderTransition
from storage.relational.models import Base, Episode, WorkOrder
from storage.relational.outbox_models import OutboxMessage
from storage.relational.sla_models import DepartmentDispatch
from tests.alerts.conftest import LIGHT_RED, PIPE_YELLOW, SHED_GREEN, T0, make_event
from tests.alerts.escalation_support import seed_policies

Sessions = async_sessionmaker[AsyncSession]
NOW = T0 + timedelta(minutes=10)
MINUTE = timedelta(minutes=1)
Snapshot = dict[str, list[tuple[object, ...]]]


def fire_site(site: Site) -> Site:
    fire = Department("fire", "Fire brigade", handles=frozenset({"smoke", "overheat"}))
    return dataclasses.replace(site, departments={"fire": fire})


def mixed_events() -> list[DeviceEvent]:
    """Raises, a duplicate, links both ways, clears, a recurrence, a replay and two refusals."""
    return [
        make_event(LIGHT_RED, "short_circuit"),
        make_event(SHED_GREEN, "smoke"),  # critical: the fire department is dispatched
        make_event(PIPE_YELLOW, "leak"),
        make_event(LIGHT_RED, "short_circuit"),  # already open: nothing
        make_event(LIGHT_RED, "lamp_failure", ts=T0 + MINUTE),  # linked under the short
        make_event(SHED_GREEN, "port_fault", ts=T0 + MINUTE),  # linked under the smoke
        make_event(PIPE_YELLOW, "leak", active=False, ts=T0 + 2 * MINUTE),
        make_event(LIGHT_RED, "short_circuit", active=False, ts=T0 + 2 * MINUTE),
        make_event(PIPE_YELLOW, "leak", ts=T0 + 3 * MINUTE),  # recurs on the open order
        make_event(LIGHT_RED, "short_circuit", ts=T0 + MINUTE),  # a replay: nothing
        make_event(PIPE_YELLOW, "burst", ts=T0 + 4 * MINUTE),  # adopts the leak order
        make_event(PIPE_YELLOW, "smoke", severity=Severity.CRITICAL),  # not a pipe fault: refused
        make_event(SHED_GREEN, "overheat", ts=T0.replace(tzinfo=None)),  # no zone: refused
    ]


async def snapshot(sessions: Sessions) -> Snapshot:
    """Every row the events wrote, in id order, without wall-clock columns."""
    async with sessions() as session:
        orders = list(await session.scalars(select(WorkOrder).order_by(WorkOrder.id)))
        episodes = await session.scalars(select(Episode).order_by(Episode.id))
        outbox = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        dispatches = await session.scalars(
            select(DepartmentDispatch).order_by(DepartmentDispatch.id)
        )
        transitions = await session.scalars(select(OrderTransition).order_by(OrderTransition.id))
        return {
            "orders": [
                (o.id, o.device_id, o.fault_code, o.status, o.occurrences, o.version)
                for o in orders
            ],
            # Not the episode id: a replayed raise's episode is inserted then deleted, and
            # SQLite may hand its id out again or not depending on what follows.
            "routing": [(o.parent_id, o.assignee, o.silenced, o.ack_due_at) for o in orders],
            "recovery": [(o.recovered_at, o.open_key, o.reopen_count) for o in orders],
            "episodes": [
                (e.device_id, e.code, e.started_at, e.ended_at, e.work_order_id, e.open_key)
                for e in episodes
            ],
            "outbox": [(m.idempotency_key, m.channel, m.order_id, m.payload) for m in outbox],
            "dispatches": [(d.order_id, d.department_id, d.ack_due_at) for d in dispatches],
            "transitions": [(t.order_id, t.action, t.version) for t in transitions],
        }


async def fresh_schema(engine: AsyncEngine, sessions: Sessions) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
    await seed_policies(sessions)


async def test_a_batch_ends_where_one_event_at_a_time_ends(
    engine: AsyncEngine, sessions: Sessions, site: Site
) -> None:
    site = fire_site(site)
    events = mixed_events()
    await fresh_schema(engine, sessions)
    one_by_one: list[list[ChangeKind] | None] = []
    for event in events:
        try:
            async with sessions.begin() as session:
                changes = await handle_event(session, site=site, event=event, now=NOW)
            one_by_one.append([change.kind for change in changes])
        except InvalidError:
            one_by_one.append(None)
    alone = await snapshot(sessions)

    await fresh_schema(engine, sessions)
    async with sessions.begin() as session:
        outcomes = await handle_events(session, site=site, events=events, now=NOW)
    batched = [
        None if isinstance(outcome, InvalidError) else [change.kind for change in outcome]
        for outcome in outcomes
    ]

    assert batched == one_by_one
    together = await snapshot(sessions)
    for table, rows in alone.items():
        assert together[table] == rows, table
    assert ChangeKind.LINKED in batched[10]  # type: ignore[operator]  # the burst adopted
    assert batched[1] == [ChangeKind.OPENED, ChangeKind.DISPATCHED]


async def test_a_storm_of_distinct_devices_opens_and_links_every_order(
    sessions: Sessions, site: Site
) -> None:
    faults = {LIGHT_RED: "short_circuit", SHED_GREEN: "smoke", PIPE_YELLOW: "leak"}
    events = [make_event(device, code) for device, code in faults.items()]
    async with sessions.begin() as session:
        outcomes = await handle_events(session, site=site, events=events, now=NOW)

    assert [[change.kind for change in outcome] for outcome in outcomes] == [  # type: ignore[union-attr]
        [ChangeKind.OPENED]
    ] * 3
    async with sessions() as session:
        orders = {o.device_id: o.id for o in await session.scalars(select(WorkOrder))}
        episodes = list(await session.scalars(select(Episode)))
    assert {(e.device_id, e.work_order_id) for e in episodes} == set(orders.items())


def test_segments_never_hold_a_device_twice_and_keep_arrival_order() -> None:
    devices = ["a", "b", "a", "c", "c", "b"]
    events = [make_event(LIGHT_RED, "short_circuit") for _ in devices]
    events = [
        dataclasses.replace(event, device_id=d) for event, d in zip(events, devices, strict=True)
    ]

    assert device_segments(events) == [[0, 1], [2, 3], [4, 5]]


async def test_clears_of_one_incident_recover_its_order_when_the_last_member_is_back(
    engine: AsyncEngine, sessions: Sessions, site: Site
) -> None:
    second = "light-red-2"
    site = dataclasses.replace(
        site,
        devices={**site.devices, second: Device(second, "corridor_light", building_id="b-red")},
    )
    offline = [make_event(LIGHT_RED, "offline"), make_event(LIGHT_RED, "offline")]
    members = tuple(
        dataclasses.replace(event, device_id=device)
        for event, device in zip(offline, (LIGHT_RED, second), strict=True)
    )
    incident = BuildingEvent(
        "b-red", "building:b-red", "offline", True, Severity.MINOR, T0, members
    )
    clears = [
        dataclasses.replace(member, active=False, ts=T0 + (n + 1) * MINUTE)
        for n, member in enumerate(members)
    ]

    async def run(together: bool) -> tuple[list[list[ChangeKind]], Snapshot]:
        await fresh_schema(engine, sessions)
        async with sessions.begin() as session:
            await handle_building_event(session, site=site, event=incident, now=NOW)
        kinds: list[list[ChangeKind]] = []
        for batch in [clears] if together else [[clear] for clear in clears]:
            async with sessions.begin() as session:
                outcomes = await handle_events(session, site=site, events=batch, now=NOW)
            kinds.extend([change.kind for change in outcome] for outcome in outcomes)  # type: ignore[union-attr]
        return kinds, await snapshot(sessions)

    one_by_one = await run(together=False)

    assert await run(together=True) == one_by_one
    # The first member back leaves the incident; the last one back marks it recovered.
    assert one_by_one[0] == [[], [ChangeKind.RECOVERED]]
