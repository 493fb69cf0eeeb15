"""Department dispatch: fire, water, power … called out in parallel with the grid team.

A fault whose code a department handles (``Site.departments_for``) opens one dispatch per
department with its own acknowledge clock (``department_ack_s`` of the severity's SLA policy).
A dispatch nobody acknowledged by its deadline is reminded every ``reminder_s`` until it is:
departments are outside the grid → community → street ladder, so reminding is their escalation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import (
    AlreadyAcknowledgedError,
    DispatchNotFoundError,
    OrderNotFoundError,
)
from alerts.escalation.sla import UNRESOLVED, SlaTimes
from alerts.orders.changes import ChangeKind, OrderChange
from alerts.orders.versioned import update_if_unchanged
from governance.model import Site
from storage.relational.models import WorkOrder
from storage.relational.sla_models import DepartmentDispatch


async def dispatch_departments(
    session: AsyncSession,
    *,
    site: Site,
    orders: Sequence[tuple[WorkOrder, SlaTimes]],
    now: datetime,
) -> list[list[OrderChange]]:
    """Dispatch every department handling each order's fault (one INSERT for all of them);
    per order, one DISPATCHED fact per department."""
    rows: list[dict[str, object]] = []
    changes: list[list[OrderChange]] = []
    for order, times in orders:
        departments = site.departments_for(order.fault_code)
        ack_due_at = now + timedelta(seconds=times.department_ack_s)
        rows.extend(
            {
                "order_id": order.id,
                "department_id": department.id,
                "dispatched_at": now,
                "ack_due_at": ack_due_at,
                "next_reminder_at": ack_due_at,  # the first reminder is the missed deadline
                "reminders": 0,
            }
            for department in departments
        )
        changes.append(
            [
                OrderChange.of(
                    order, kind=ChangeKind.DISPATCHED, at=now, department_id=department.id
                )
                for department in departments
            ]
        )
    if rows:
        # The plain table, not ORM objects: nothing reads the rows back in this transaction.
        await session.execute(insert(cast(Table, DepartmentDispatch.__table__)), rows)
    return changes


async def list_dispatches(session: AsyncSession, *, order_id: int) -> list[DepartmentDispatch]:
    """The departments dispatched for an order, in dispatch order."""
    rows = await session.scalars(
        select(DepartmentDispatch)
        .where(DepartmentDispatch.order_id == order_id)
        .order_by(DepartmentDispatch.id)
    )
    return list(rows.all())


async def acknowledge_department(
    session: AsyncSession, *, order_id: int, department_id: str, by: str, now: datetime
) -> OrderChange:
    """Record that the department took the call; stops its reminders."""
    order = await session.get(WorkOrder, order_id)
    if order is None:
        raise OrderNotFoundError(order_id)
    dispatch = await session.scalar(
        select(DepartmentDispatch).where(
            DepartmentDispatch.order_id == order_id,
            DepartmentDispatch.department_id == department_id,
        )
    )
    if dispatch is None:
        raise DispatchNotFoundError(order_id=order_id, department_id=department_id)
    acknowledged = await session.execute(
        update(DepartmentDispatch)
        .where(DepartmentDispatch.id == dispatch.id, DepartmentDispatch.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by=by, next_reminder_at=None)
    )
    if not getattr(acknowledged, "rowcount", 0):
        await session.refresh(dispatch)
        raise AlreadyAcknowledgedError(
            order_id=order_id, department_id=department_id, by=dispatch.acknowledged_by
        )
    # The order's version covers its dispatches, so each notification about it is distinct.
    bumped = await update_if_unchanged(
        session, order_id=order_id, seen_version=order.version, values={}, now=now
    )
    if bumped is None:  # changed under us: read it again and bump that version
        await session.refresh(order)
        bumped = await update_if_unchanged(
            session, order_id=order_id, seen_version=order.version, values={}, now=now
        )
    fact_order = bumped if bumped is not None else order
    return OrderChange.of(
        fact_order, kind=ChangeKind.DEPARTMENT_ACKNOWLEDGED, at=now, department_id=department_id
    )


async def remind_departments(
    session: AsyncSession,
    *,
    policies: dict[str, SlaTimes],
    now: datetime,
    limit: int,
    skip_locked: bool,
) -> list[OrderChange]:
    """Remind every due, unacknowledged dispatch whose order still needs work."""
    query = (
        select(DepartmentDispatch, WorkOrder)
        .join(WorkOrder, WorkOrder.id == DepartmentDispatch.order_id)
        .where(
            DepartmentDispatch.next_reminder_at <= now,
            DepartmentDispatch.acknowledged_at.is_(None),
        )
        .order_by(DepartmentDispatch.next_reminder_at, DepartmentDispatch.id)
        .limit(limit)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True, of=DepartmentDispatch)
    changes: list[OrderChange] = []
    for dispatch, order in (await session.execute(query)).all():
        times = policies.get(order.severity)
        still_needed = order.status in UNRESOLVED and not order.silenced and times is not None
        claim = update(DepartmentDispatch).where(
            DepartmentDispatch.id == dispatch.id,
            DepartmentDispatch.next_reminder_at == dispatch.next_reminder_at,
        )
        if times is None or not still_needed:
            # Resolved, cancelled or silenced meanwhile: the department is no longer needed.
            await session.execute(claim.values(next_reminder_at=None))
            continue
        claimed = await session.execute(
            claim.values(
                next_reminder_at=now + timedelta(seconds=times.reminder_s),
                reminders=DepartmentDispatch.reminders + 1,
            )
        )
        if not getattr(claimed, "rowcount", 0):
            continue  # another sweeper reminded it first
        bumped = await update_if_unchanged(
            session, order_id=order.id, seen_version=order.version, values={}, now=now
        )
        changes.append(
            OrderChange.of(
                bumped if bumped is not None else order,
                kind=ChangeKind.REMINDED,
                at=now,
                department_id=dispatch.department_id,
                reason="department_ack_overdue",
            )
        )
    return changes
