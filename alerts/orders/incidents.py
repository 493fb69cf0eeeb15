"""Incidents: one work order for a root cause shared by many devices.

Root-cause grouping (``alerts.orders.grouping``, decided by ``alerts.orders.held_pages``) turns a
wave of held ``offline`` or ``no_power`` pages into ONE order for a building, a community or the
whole street (``scope`` says which; no device; ``open_key "<scope>:<id>:<code>"``), opened like a
device order (``alerts.orders.opening``: roster, silences, SLA clock; a building incident also
adopts the building's device orders it explains). A community incident starts at the community
tier and a street incident at the street tier, so those tiers hear of it at once. Each member
device keeps its own episode (device status and uptime stay right), linked to that order, and a
row in ``incident_devices``. A device going down while an incident covering it is open joins it
at once; a member coming back leaves it; the last member back marks the order recovered.

:func:`handle_building_event` applies a :class:`BuildingEvent` (a whole group reported by an
emitter that knows the wiring) with the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.notifications.outbox import record_changes
from alerts.orders.changes import ChangeKind, OrderChange
from alerts.orders.episodes import end_episode, open_episode
from alerts.orders.grouping import IncidentPlan
from alerts.orders.keys import (
    area_incident_key,
    incident_key,
    insert_skipping_conflicts,
    open_key,
)
from alerts.orders.opening import open_order
from alerts.orders.routing import route_building
from alerts.orders.versioned import locked_open_order, update_locked, update_order
from core.events import BuildingEvent, DeviceEvent
from governance.model import Site, Tier
from sensors.catalogue import Severity
from storage.relational.detection_models import IncidentDevice
from storage.relational.models import Episode, OrderScope, WorkOrder

#: The tier an incident starts at: the level whose people can act on it.
_START_TIER = {
    OrderScope.BUILDING: Tier.GRID,
    OrderScope.COMMUNITY: Tier.COMMUNITY,
    OrderScope.STREET: Tier.STREET,
}


async def handle_building_event(
    session: AsyncSession, *, site: Site, event: BuildingEvent, now: datetime
) -> list[OrderChange]:
    """Apply one building event inside the caller's transaction; the order changes it caused."""
    routing = route_building(site, building_id=event.building_id, severity=event.severity)
    key = incident_key(event.building_id, event.code)
    order = await locked_open_order(session, key)
    changes: list[OrderChange] = []
    if event.active:
        if order is None:
            order, opened = await open_order(
                session, site=site, routing=routing, event=event, key=key, now=now
            )
            changes.extend(opened)
        elif order.recovered_at is not None:
            recurred = {"recovered_at": None, "occurrences": WorkOrder.occurrences + 1}
            order = await update_locked(session, order=order, values=recurred, now=now)
            changes.append(OrderChange.of(order, kind=ChangeKind.RECURRED, at=now))
    for member in event.members:
        if member.active and order is not None:
            await _attach(session, order=order, member=member, group_id=event.group_id)
        elif not member.active:
            await _detach(session, member=member)
    if not event.active and order is not None and order.recovered_at is None:
        recovered = {"recovered_at": _utc(event.ts)}
        order = await update_locked(session, order=order, values=recovered, now=now)
        changes.append(OrderChange.of(order, kind=ChangeKind.RECOVERED, at=now))
    await record_changes(session, site=site, changes=changes, now=now)
    return changes


async def incident_devices(session: AsyncSession, *, order_id: int) -> list[IncidentDevice]:
    """Devices attached to an incident order (still attached first, then by time)."""
    query = (
        select(IncidentDevice)
        .where(IncidentDevice.work_order_id == order_id)
        .order_by(IncidentDevice.detached_at.is_not(None), IncidentDevice.attached_at)
    )
    return list((await session.scalars(query)).all())


async def _attach(
    session: AsyncSession, *, order: WorkOrder, member: DeviceEvent, group_id: str
) -> None:
    """Open the member's episode under the incident order and record it as attached."""
    started = _utc(member.ts)
    episode = await open_episode(session, event=member, started_at=started, work_order_id=order.id)
    if episode is None:
        return  # already open (e.g. with its own order before the incident): leave it there
    attached = {
        "work_order_id": order.id,
        "device_id": member.device_id,
        "code": member.code,
        "group_id": group_id,
        "attached_at": started,
        "open_key": episode.open_key,
    }
    await session.execute(
        insert_skipping_conflicts(
            session, IncidentDevice, [attached], unique=IncidentDevice.open_key
        )
    )


async def _detach(session: AsyncSession, *, member: DeviceEvent) -> None:
    """End the member's incident episode and mark it detached."""
    key = open_key(member.device_id, member.code)
    ended_at = _utc(member.ts)
    detached = update(IncidentDevice).where(IncidentDevice.open_key == key)
    attached = await session.scalar(
        detached.values(detached_at=ended_at, open_key=None).returning(IncidentDevice)
    )
    if attached is None:
        return  # not in this incident: its episode belongs to its own order
    await end_episode(
        session,
        Episode.open_key == key,
        Episode.work_order_id == attached.work_order_id,
        ended_at=ended_at,
    )


async def open_incident(
    session: AsyncSession,
    *,
    site: Site,
    plan: IncidentPlan,
    code: str,
    members: Sequence[Episode],
    now: datetime,
) -> list[OrderChange]:
    """Open the incident ``plan`` describes (or join the one open for it) with the held,
    still-open episodes ``members``; the order changes it caused."""
    key = area_incident_key(plan.scope.value, plan.area_id, code)
    order = await locked_open_order(session, key)
    changes: list[OrderChange] = []
    if order is None:
        severity = max((Severity(m.severity) for m in members), key=lambda s: s.rank)
        event = BuildingEvent(
            building_id=_worst_hit(site, members),
            group_id=plan.group_id,
            code=code,
            active=True,
            severity=severity,
            ts=min(m.started_at for m in members),
            members=(),
            detail=incident_detail(site, plan, code),
        )
        routing = route_building(site, building_id=event.building_id, severity=severity)
        routing = replace(routing, scope=plan.scope, tier=_START_TIER[plan.scope])
        order, changes = await open_order(
            session, site=site, routing=routing, event=event, key=key, now=now
        )
    if not changes:
        changes.extend(await _recurred_if_recovered(session, order=order, now=now))
    for episode in members:
        await _attach_episode(session, order=order, episode=episode, group_id=plan.group_id)
    return changes


async def covering_incidents(
    session: AsyncSession, *, site: Site, faults: Sequence[tuple[str, str]]
) -> list[tuple[WorkOrder, str] | None]:
    """Per ``(device_id, code)``: the open incident a device going down now joins (the widest:
    street, community, then its building), row-locked, with the group it joins as; None when
    there is none. One query for all of them."""
    areas = [_covering_areas(site, device_id=device_id, code=code) for device_id, code in faults]
    if not areas:
        return []
    query = (
        select(WorkOrder)
        .where(WorkOrder.open_key.in_({key for keys in areas for key in keys}))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    by_key = {order.open_key: order for order in (await session.scalars(query)).all()}
    return [
        next(((by_key[key], group) for key, group in keys.items() if key in by_key), None)
        for keys in areas
    ]


def _covering_areas(site: Site, *, device_id: str, code: str) -> dict[str, str]:
    """The open keys of the incidents that would cover a device, widest first, with the group
    the device joins each as."""
    route = site.route(device_id)
    return {
        area_incident_key(OrderScope.STREET.value, site.street.id, code): (
            f"street:{site.street.id}"
        ),
        area_incident_key(OrderScope.COMMUNITY.value, route.community.id, code): (
            f"community:{route.community.id}"
        ),
        incident_key(route.building.id, code): route.device.group_id,
    }


async def join_incident(
    session: AsyncSession, *, order: WorkOrder, group_id: str, episode: Episode, now: datetime
) -> list[OrderChange]:
    """Attach a device that went down to the open incident covering it (row-locked)."""
    changes = await _recurred_if_recovered(session, order=order, now=now)
    await _attach_episode(session, order=order, episode=episode, group_id=group_id)
    return changes


async def leave_incident(
    session: AsyncSession, *, episode: Episode, now: datetime
) -> list[OrderChange] | None:
    """Detach a member whose episode just ended; the order is recovered when it was the last
    one. None when the episode is not attached to an incident."""
    if episode.work_order_id is None or episode.ended_at is None:
        return None
    detached = (
        update(IncidentDevice)
        .where(
            IncidentDevice.open_key == open_key(episode.device_id, episode.code),
            IncidentDevice.work_order_id == episode.work_order_id,
        )
        .values(detached_at=episode.ended_at, open_key=None)
        .returning(IncidentDevice.id)
    )
    if await session.scalar(detached) is None:
        return None
    still_down = await session.scalar(
        select(func.count())
        .select_from(IncidentDevice)
        .where(
            IncidentDevice.work_order_id == episode.work_order_id,
            IncidentDevice.open_key.is_not(None),
        )
    )
    if still_down:
        return []
    order = await update_order(
        session,
        WorkOrder.id == episode.work_order_id,
        WorkOrder.open_key.is_not(None),
        WorkOrder.recovered_at.is_(None),
        values={"recovered_at": episode.ended_at},
        now=now,
    )
    return [] if order is None else [OrderChange.of(order, kind=ChangeKind.RECOVERED, at=now)]


def incident_detail(site: Site, plan: IncidentPlan, code: str) -> str:
    """What the incident order says: how far the outage reaches and its likely cause."""
    counted = f"{plan.affected} of {plan.size} devices"
    if plan.scope is OrderScope.STREET:
        return (
            f"{code} across {site.street.name}: {counted} in {plan.spread} communities at once."
            " Likely cause: the MQTT broker, the network or the gateway (the service side),"
            " not the devices."
        )
    if plan.scope is OrderScope.COMMUNITY:
        name = site.communities[plan.area_id].name
        return (
            f"{code} across {name}: {counted} in {plan.spread} buildings at once."
            " Likely cause: the community's power supply or network."
        )
    name = site.buildings[plan.area_id].name
    return (
        f"{code} in {name}: {counted} of {plan.group_id} at once."
        " Likely cause: its power supply, circuit or edge gateway."
    )


async def _recurred_if_recovered(
    session: AsyncSession, *, order: WorkOrder, now: datetime
) -> list[OrderChange]:
    """An incident whose members were all back is down again: count it, clear the recovery."""
    if order.recovered_at is None:
        return []
    recurred = {"recovered_at": None, "occurrences": WorkOrder.occurrences + 1}
    order = await update_locked(session, order=order, values=recurred, now=now)
    return [OrderChange.of(order, kind=ChangeKind.RECURRED, at=now)]


async def _attach_episode(
    session: AsyncSession, *, order: WorkOrder, episode: Episode, group_id: str
) -> None:
    """Link an open episode to the incident order and record the device as attached."""
    episode.work_order_id = order.id
    episode.page_due_at = None
    attached = {
        "work_order_id": order.id,
        "device_id": episode.device_id,
        "code": episode.code,
        "group_id": group_id,
        "attached_at": episode.started_at,
        "open_key": episode.open_key,
    }
    await session.execute(
        insert_skipping_conflicts(
            session, IncidentDevice, [attached], unique=IncidentDevice.open_key
        )
    )
    await session.flush()


def _worst_hit(site: Site, members: Sequence[Episode]) -> str:
    """The building with the most members (ties: the first by id): where the order points."""
    counts: dict[str, int] = {}
    for member in members:
        building_id = site.devices[member.device_id].building_id
        counts[building_id] = counts.get(building_id, 0) + 1
    return max(sorted(counts), key=lambda building_id: counts[building_id])


def _utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError("building event timestamps must be timezone-aware")
    return ts.astimezone(UTC)
