"""Building incidents: one building-scoped work order for a root cause shared by many devices.

The gateway's root-cause grouping (gateway/correlation.py) turns a wave of ``offline`` or
``no_power`` raises in one building into a :class:`BuildingEvent`. Here it becomes ONE order
(``scope="building"``, no device, ``open_key "building:<id>:<code>"``) routed to the building's
grid team and opened like a device order (``alerts.orders.opening``: roster, silences, SLA
clock, adopting the building's device orders it explains). Each member device still gets its
own episode (so device status and uptime stay right), linked to that order, and a row in
``incident_devices``. Later events attach joining devices, detach devices that are back, and —
when the incident is over — mark the order recovered.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.notifications.outbox import record_changes
from alerts.orders.changes import ChangeKind, OrderChange
from alerts.orders.episodes import end_episode, open_episode
from alerts.orders.keys import incident_key, insert_skipping_conflicts, open_key
from alerts.orders.opening import open_order
from alerts.orders.routing import route_building
from alerts.orders.versioned import locked_open_order, update_locked
from core.events import BuildingEvent, DeviceEvent
from governance.model import Site
from storage.relational.detection_models import IncidentDevice
from storage.relational.models import Episode, WorkOrder


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


def _utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError("building event timestamps must be timezone-aware")
    return ts.astimezone(UTC)
