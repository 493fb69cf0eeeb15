"""Building incidents: one building-scoped work order for a root cause shared by many devices.

The gateway's root-cause grouping (gateway/correlation.py) turns a wave of ``offline`` or
``no_power`` raises in one building into a :class:`BuildingEvent`. Here it becomes ONE order
(``scope="building"``, no device, ``open_key "building:<id>:<code>"``) routed to the building's
grid team and paged like a device order (``alerts.flows``: roster, silences, SLA clock, adopting
the building's device orders it explains). Each member device still gets its own episode (so
device status and uptime stay right), linked to that order, and a row in ``incident_devices``.
Later events attach joining devices, detach devices that are back, and — when the incident is
over — mark the order recovered.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.changes import ChangeKind, OrderChange
from alerts.dedup import insert_unless_open, open_key
from alerts.errors import InvalidError, OpenOrderConflictError, UnsupportedDatabaseError

# The lifecycle helper's post-open flow (alerts/flows.py); private there, shared on purpose.
from alerts.flows import after_raise
from alerts.notify import record_changes
from alerts.routing import priority_of
from alerts.service import locked_open_order
from core.events import BuildingEvent, DeviceEvent
from governance.model import Site, Tier
from storage.relational.detection_models import IncidentDevice
from storage.relational.models import Episode, OrderScope, OrderStatus, WorkOrder


class UnknownBuildingError(InvalidError):
    """A building event names a building the site does not have."""

    def __init__(self, building_id: str) -> None:
        super().__init__(f"unknown building {building_id!r}")
        self.building_id = building_id


def incident_key(building_id: str, code: str) -> str:
    """The ``open_key`` of a building's incident order while it is open."""
    return f"building:{building_id}:{code}"


async def handle_building_event(
    session: AsyncSession, *, site: Site, event: BuildingEvent, now: datetime
) -> list[OrderChange]:
    """Apply one building event inside the caller's transaction; the order changes it caused."""
    building = site.buildings.get(event.building_id)
    if building is None:
        raise UnknownBuildingError(event.building_id)
    key = incident_key(event.building_id, event.code)
    order = await locked_open_order(session, key)
    changes: list[OrderChange] = []
    if event.active:
        if order is None:
            order = await _open(session, site=site, key=key, event=event, now=now)
            opened = OrderChange.of(order, kind=ChangeKind.OPENED, at=now)
            # The same paging decisions as a device order: roster, silences, SLA clock, and
            # adopting the building's still-unacknowledged device orders it explains.
            changes.extend(await after_raise(session, site=site, change=opened, now=now))
            await session.refresh(order)
        elif order.recovered_at is not None:
            order.recovered_at = None
            order.occurrences += 1
            order.updated_at = now
            await session.flush()
            changes.append(OrderChange.of(order, kind=ChangeKind.RECURRED, at=now))
    for member in event.members:
        if member.active and order is not None:
            await _attach(session, order=order, member=member, group_id=event.group_id, now=now)
        elif not member.active:
            await _detach(session, member=member)
    if not event.active and order is not None and order.recovered_at is None:
        order.recovered_at = _utc(event.ts)
        order.updated_at = now
        await session.flush()
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


async def _open(
    session: AsyncSession, *, site: Site, key: str, event: BuildingEvent, now: datetime
) -> WorkOrder:
    building = site.buildings[event.building_id]
    grid = site.grids[building.grid_id]
    team = site.teams[grid.team_id]
    values: dict[str, Any] = {
        "scope": OrderScope.BUILDING.value,
        "device_id": None,
        "fault_code": event.code,
        "severity": event.severity.value,
        "priority": priority_of(severity=event.severity, care=building.care),
        "status": OrderStatus.OPEN.value,
        "tier": Tier.GRID.value,
        "building_id": building.id,
        "grid_id": grid.id,
        "community_id": grid.community_id,
        "team_id": team.id,
        "assignee": team.responsible_for(building.id).id,
        "detail": event.detail,
        "open_key": key,
        "created_at": now,
        "updated_at": now,
        "occurrences": 1,
        "version": 1,
    }
    order = await insert_unless_open(session, WorkOrder, values)
    if order is None:  # another replica opened it between our read and insert
        order = await locked_open_order(session, key)
        if order is None:
            raise OpenOrderConflictError(key)
    return order


async def _attach(
    session: AsyncSession, *, order: WorkOrder, member: DeviceEvent, group_id: str, now: datetime
) -> None:
    """Open the member's episode under the incident order and record it as attached."""
    key = open_key(member.device_id, member.code)
    started = _utc(member.ts)
    episode = await insert_unless_open(
        session,
        Episode,
        {
            "device_id": member.device_id,
            "code": member.code,
            "severity": member.severity.value,
            "source": member.source.value,
            "detail": member.detail,
            "started_at": started,
            "open_key": key,
            "work_order_id": order.id,
        },
    )
    if episode is None:
        return  # already open (e.g. with its own order before the incident): leave it there
    await _insert_ignoring_conflict(
        session,
        {
            "work_order_id": order.id,
            "device_id": member.device_id,
            "code": member.code,
            "group_id": group_id,
            "attached_at": started,
            "open_key": key,
        },
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
    episode = await session.scalar(
        update(Episode)
        .where(Episode.open_key == key, Episode.work_order_id == attached.work_order_id)
        .values(ended_at=ended_at, open_key=None)
        .returning(Episode)
    )
    # A device clock running behind must not produce a negative outage.
    if (
        episode is not None
        and episode.ended_at is not None
        and episode.ended_at < episode.started_at
    ):
        episode.ended_at = episode.started_at
    await session.flush()


async def _insert_ignoring_conflict(session: AsyncSession, values: Mapping[str, Any]) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        pg = postgresql.insert(IncidentDevice).values(dict(values))
        statement: Any = pg.on_conflict_do_nothing(index_elements=[IncidentDevice.open_key])
    elif dialect == "sqlite":
        lite = sqlite.insert(IncidentDevice).values(dict(values))
        statement = lite.on_conflict_do_nothing(index_elements=[IncidentDevice.open_key])
    else:
        raise UnsupportedDatabaseError(dialect)
    await session.execute(statement)


def _utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError("building event timestamps must be timezone-aware")
    return ts.astimezone(UTC)
