"""Opening a work order: every paging decision first, then ONE insert of the complete row.

For a device fault (``alerts.orders.raising``) and a building incident
(``alerts.orders.incidents``) alike, in the caller's transaction:

1. **routing** — the grid team and the member answering for the building, else the on-duty
   member of the duty roster, else the grid leader (``alerts.orders.routing``);
2. **silence** — inside an active silence the order is recorded ``silenced``: no clock, no
   department, no link, no page;
3. **linking** — an open order that explains it becomes its ``parent_id``: no clock, no page;
4. otherwise the **SLA clock** starts from the severity's policy.

The row is inserted with all of that at version 1. Then, in the same transaction, the
**departments** handling the fault are dispatched and the orders it explains are adopted as
its children.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import OpenOrderConflictError
from alerts.escalation.departments import dispatch_departments
from alerts.escalation.linking import adoptable_children, explaining_parent
from alerts.escalation.silences import active_silence
from alerts.escalation.sla import NO_CLOCK, SlaTimes, clock_values, policy_for
from alerts.orders.changes import ChangeKind, OrderChange
from alerts.orders.keys import insert_unless_open
from alerts.orders.routing import OrderRouting, with_roster
from alerts.orders.versioned import locked_open_order, update_if_unchanged
from core.events import BuildingEvent, DeviceEvent
from governance.model import Site
from storage.relational.models import OrderScope, OrderStatus, WorkOrder


class NewOrder(TypedDict):
    """The complete values of a work order's INSERT."""

    scope: OrderScope
    device_id: str | None
    fault_code: str
    severity: str
    priority: int
    status: OrderStatus
    tier: str
    building_id: str
    grid_id: str
    community_id: str
    team_id: str
    assignee: str
    detail: str
    open_key: str
    created_at: datetime
    updated_at: datetime
    occurrences: int
    version: int
    silenced: bool
    parent_id: int | None
    ack_due_at: datetime | None
    resolve_due_at: datetime | None
    next_reminder_at: datetime | None


async def open_order(
    session: AsyncSession,
    *,
    site: Site,
    routing: OrderRouting,
    event: DeviceEvent | BuildingEvent,
    key: str,
    now: datetime,
) -> tuple[WorkOrder, list[OrderChange]]:
    """Decide and insert a new order holding ``key``: the order and its changes (``opened``
    first, then any department dispatches and adopted children).

    When another replica opened one between the caller's read and this insert, that order is
    returned row-locked, with no changes: the caller treats the event as a recurrence.
    """
    routing = await with_roster(session, site=site, routing=routing, at=now)
    values = _new_order(routing, fault_code=event.code, detail=event.detail, key=key, now=now)
    times = await _paging(session, values, now=now)
    order = await insert_unless_open(session, WorkOrder, values)
    if order is None:
        held = await locked_open_order(session, key)  # committed by the other replica now
        if held is None:
            raise OpenOrderConflictError(key)
        return held, []
    changes = [OrderChange.of(order, kind=ChangeKind.OPENED, at=now)]
    if times is not None:
        changes.extend(
            await dispatch_departments(session, site=site, order=order, times=times, now=now)
        )
    if not order.silenced and order.parent_id is None:
        changes.extend(await _adopt_children(session, parent=order, now=now))
    return order, changes


def _new_order(
    routing: OrderRouting, *, fault_code: str, detail: str, key: str, now: datetime
) -> NewOrder:
    return NewOrder(
        scope=routing.scope,
        device_id=routing.device_id,
        fault_code=fault_code,
        severity=routing.severity.value,
        priority=routing.priority,
        status=OrderStatus.OPEN,
        tier=routing.tier.value,
        building_id=routing.building_id,
        grid_id=routing.grid_id,
        community_id=routing.community_id,
        team_id=routing.team_id,
        assignee=routing.assignee,
        detail=detail,
        open_key=key,
        created_at=now,
        updated_at=now,
        occurrences=1,
        version=1,
        silenced=False,
        parent_id=None,
        ack_due_at=None,  # the clock starts only if ``_paging`` finds it pages
        resolve_due_at=None,
        next_reminder_at=None,
    )


async def _paging(session: AsyncSession, values: NewOrder, *, now: datetime) -> SlaTimes | None:
    """Silence, link or start the clock of the order ``values`` describe; its SLA times if any.

    Only a clocked order (neither silenced nor linked) has times, and only it calls out
    departments.
    """
    silence = await active_silence(
        session,
        device_id=values["device_id"],
        building_id=values["building_id"],
        grid_id=values["grid_id"],
        at=now,
    )
    if silence is not None:
        values["silenced"] = True
        return None
    # A transient row (never added to the session) lets the linking rules read it as an order.
    parent = await explaining_parent(session, order=WorkOrder(**values))
    if parent is not None:
        values["parent_id"] = parent.id
        return None
    times = await policy_for(session, values["severity"])
    if times is not None:
        clock = clock_values(status=values["status"], times=times, now=now)
        values["ack_due_at"] = clock["ack_due_at"]
        values["resolve_due_at"] = clock["resolve_due_at"]
        values["next_reminder_at"] = clock["next_reminder_at"]
    return times


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


async def restarted_clock(
    session: AsyncSession, *, order: WorkOrder, now: datetime
) -> dict[str, datetime | None]:
    """The clock of a reopened order at its current tier; none for silenced or linked orders."""
    if order.silenced or order.parent_id is not None:
        return {}
    times = await policy_for(session, order.severity)
    if times is None:
        return {}
    return clock_values(status=OrderStatus.OPEN, times=times, now=now)
