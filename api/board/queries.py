"""The board's two grouped reads: open orders per building, unwell devices per device."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.escalation.sla import UNACKNOWLEDGED, UNRESOLVED
from api.board.tally import Counts
from api.devices.queries import status_from_open_codes
from api.devices.schemas import DeviceStatus
from sensors.catalogue import Severity
from storage.relational.models import Episode, WorkOrder


def _overdue(now: datetime) -> ColumnElement[int]:
    """1 for an order past its acknowledge or resolve deadline, else 0."""
    late = or_(
        and_(WorkOrder.status.in_(UNACKNOWLEDGED), WorkOrder.ack_due_at <= now),
        and_(WorkOrder.status.in_(UNRESOLVED), WorkOrder.resolve_due_at <= now),
    )
    return case((late, 1), else_=0)


async def open_orders_by_building(session: AsyncSession, *, now: datetime) -> dict[str, Counts]:
    """Unresolved orders per building: how many, how many overdue, how many critical.

    Orders linked under an incident (``parent_id`` set) are left out: the incident stands for
    them, so one burst main is one order on the board, not forty.
    """
    critical = case((WorkOrder.severity == Severity.CRITICAL.value, 1), else_=0)
    query = (
        select(
            WorkOrder.building_id,
            func.count(),
            func.sum(_overdue(now)),
            func.sum(critical),
        )
        .where(WorkOrder.status.in_(UNRESOLVED), WorkOrder.parent_id.is_(None))
        .group_by(WorkOrder.building_id)
    )
    return {
        building_id: Counts(open_orders=count, overdue=int(overdue), critical=int(crit))
        for building_id, count, overdue, crit in await session.execute(query)
    }


async def unwell_devices(session: AsyncSession) -> dict[str, DeviceStatus]:
    """The status of every device with an open episode (the others are ``ok``)."""
    query = select(Episode.device_id, Episode.code).where(Episode.ended_at.is_(None)).distinct()
    codes: dict[str, set[str]] = defaultdict(set)
    for device_id, code in await session.execute(query):
        codes[device_id].add(code)
    return {device_id: status_from_open_codes(found) for device_id, found in codes.items()}
