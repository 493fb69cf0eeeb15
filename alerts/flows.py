"""What one device event does to the relational store, as one unit of work.

After a raise opens an order, the same transaction decides how it pages:

1. **routing** — the member answering for the building, else the on-duty member of the duty
   roster, else the grid leader (``alerts.routing.roster_assignee``);
2. **silence** — inside an active silence the order is recorded ``silenced`` and stops there:
   no clock, no department, no link;
3. **linking** — an open order that explains it becomes its ``parent_id``: no clock, no page;
4. otherwise the **SLA clock** starts from the severity's policy, the **departments** handling
   the fault are dispatched, and orders this one explains are adopted as its children.

A reopened order restarts its clock at its current tier; a recurrence changes nothing here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.changes import ChangeKind, OrderChange
from alerts.departments import dispatch_departments
from alerts.linking import adoptable_children, explaining_parent
from alerts.notify import record_changes
from alerts.routing import roster_assignee
from alerts.service import DEFAULT_REOPEN_WINDOW, clear_fault, raise_fault
from alerts.silences import active_silence
from alerts.sla import NO_CLOCK, SlaTimes, clock_values, policy_for
from alerts.versioned import update_if_unchanged
from core.events import DeviceEvent
from governance.model import Site
from storage.relational.models import WorkOrder


async def handle_event(
    session: AsyncSession,
    *,
    site: Site,
    event: DeviceEvent,
    now: datetime,
    reopen_window: timedelta = DEFAULT_REOPEN_WINDOW,
) -> list[OrderChange]:
    """Apply one event inside the caller's transaction; the order changes it caused.

    The returned facts are the outbox seam: persisting them in this same transaction is what
    makes "the order change and its notification commit together" hold.
    """
    changes: list[OrderChange] = []
    if event.active:
        change = await raise_fault(
            session, site=site, event=event, now=now, reopen_window=reopen_window
        )
        if change is not None:
            changes = await after_raise(session, site=site, change=change, now=now)
    else:
        change = await clear_fault(session, event=event, now=now)
        if change is not None:
            changes = [change]
    await record_changes(session, site=site, changes=changes, now=now)
    return changes


async def after_raise(
    session: AsyncSession, *, site: Site, change: OrderChange, now: datetime
) -> list[OrderChange]:
    if change.kind is ChangeKind.OPENED:
        return await _on_open(session, site=site, order_id=change.order_id, now=now)
    if change.kind is ChangeKind.REOPENED:
        return [await _on_reopen(session, change=change, now=now)]
    return [change]


async def _set_unseen(
    session: AsyncSession, *, order_id: int, values: Mapping[str, object]
) -> WorkOrder:
    """Complete an order inside the transaction that created it: nobody has seen this version
    yet, so it keeps its version number."""
    statement = (
        update(WorkOrder)
        .where(WorkOrder.id == order_id)
        .values(**values)
        .returning(WorkOrder)
        .execution_options(populate_existing=True)
    )
    order: WorkOrder = (await session.scalars(statement)).one()
    return order


async def _on_open(
    session: AsyncSession, *, site: Site, order_id: int, now: datetime
) -> list[OrderChange]:
    order = await session.get(WorkOrder, order_id)
    assert order is not None  # raise_fault just returned it
    values: dict[str, object] = {
        "assignee": await roster_assignee(
            session, site=site, team_id=order.team_id, building_id=order.building_id, at=now
        )
    }
    times: SlaTimes | None = None
    silence = await active_silence(
        session,
        device_id=order.device_id,
        building_id=order.building_id,
        grid_id=order.grid_id,
        at=now,
    )
    if silence is not None:
        values["silenced"] = True
    else:
        parent = await explaining_parent(session, order=order)
        if parent is not None:
            values["parent_id"] = parent.id
        else:
            times = await policy_for(session, order.severity)
            if times is not None:
                values.update(clock_values(status=order.status, times=times, now=now))
    order = await _set_unseen(session, order_id=order_id, values=values)
    changes = [OrderChange.of(order, kind=ChangeKind.OPENED, at=now)]
    if times is not None:
        changes.extend(
            await dispatch_departments(session, site=site, order=order, times=times, now=now)
        )
    if not order.silenced and order.parent_id is None:
        changes.extend(await _adopt_children(session, parent=order, now=now))
    return changes


async def _adopt_children(
    session: AsyncSession, *, parent: WorkOrder, now: datetime
) -> list[OrderChange]:
    """Link the still-unacknowledged orders ``parent`` explains; their clocks stop."""
    changes: list[OrderChange] = []
    for child in await adoptable_children(session, parent=parent):
        linked = await update_if_unchanged(
            session,
            order_id=child.id,
            seen_version=child.version,
            values={"parent_id": parent.id, **NO_CLOCK},
            now=now,
        )
        if linked is not None:
            changes.append(OrderChange.of(linked, kind=ChangeKind.LINKED, at=now))
    return changes


async def _on_reopen(session: AsyncSession, *, change: OrderChange, now: datetime) -> OrderChange:
    """The fix did not hold: the clock restarts at the order's current tier."""
    order = await session.get(WorkOrder, change.order_id)
    assert order is not None
    if order.silenced or order.parent_id is not None:
        return change
    times = await policy_for(session, order.severity)
    if times is None:
        return change
    clock = clock_values(status=order.status, times=times, now=now)
    order = await _set_unseen(session, order_id=order.id, values=clock)
    return OrderChange.of(order, kind=ChangeKind.REOPENED, at=now)
