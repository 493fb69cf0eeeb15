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
its children. :func:`open_orders` does all of that for many orders of distinct devices at once
(a fault storm), each step one statement for all of them; :func:`open_order` is a batch of one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import OpenOrderConflictError
from alerts.escalation.departments import dispatch_departments
from alerts.escalation.linking import adoptable_among, candidates_by_building, first_explaining
from alerts.escalation.silences import active_silences, covering
from alerts.escalation.sla import (
    NO_CLOCK,
    SlaTimes,
    clock_values,
    load_policies,
    policy_for,
    policy_in,
)
from alerts.orders.changes import ChangeKind, OrderChange
from alerts.orders.keys import insert_all_unless_open
from alerts.orders.routing import OrderRouting, with_rosters
from alerts.orders.versioned import locked_open_order, update_if_unchanged
from core.events import BuildingEvent, DeviceEvent
from governance.model import Site
from storage.relational.models import OrderScope, OrderStatus, WorkOrder
from storage.relational.sla_models import Silence


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


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """One order to open: where it goes, the event that asks for it and the key it will hold."""

    routing: OrderRouting
    event: DeviceEvent | BuildingEvent
    key: str


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
    [opened] = await open_orders(
        session, site=site, requests=[OrderRequest(routing, event, key)], now=now
    )
    return opened


async def open_orders(
    session: AsyncSession, *, site: Site, requests: Sequence[OrderRequest], now: datetime
) -> list[tuple[WorkOrder, list[OrderChange]]]:
    """:func:`open_order` for many requests of distinct keys, each step one statement for all.

    The requests must not be able to explain one another (distinct devices, see
    ``alerts.orders.batch``): each is decided against the orders committed before.
    """
    if not requests:
        return []
    routings = await with_rosters(
        session, site=site, routings=[request.routing for request in requests], at=now
    )
    rows = [
        _new_order(routing, fault_code=r.event.code, detail=r.event.detail, key=r.key, now=now)
        for routing, r in zip(routings, requests, strict=True)
    ]
    silences = await active_silences(session, at=now)
    candidates = await candidates_by_building(session, {row["building_id"] for row in rows})
    policies = await load_policies(session)
    paging = [
        _paging(row, silences, candidates[row["building_id"]], policies, now=now) for row in rows
    ]
    inserted = await insert_all_unless_open(session, WorkOrder, rows)
    opened: list[tuple[WorkOrder, list[OrderChange]]] = []
    clocked: list[tuple[WorkOrder, SlaTimes]] = []
    for request, times in zip(requests, paging, strict=True):
        order = inserted.get(request.key)
        if order is None:
            held = await locked_open_order(session, request.key)  # the other replica's, now
            if held is None:
                raise OpenOrderConflictError(request.key)
            opened.append((held, []))
            continue
        opened.append((order, [OrderChange.of(order, kind=ChangeKind.OPENED, at=now)]))
        if times is not None:
            clocked.append((order, times))
    dispatched = await dispatch_departments(session, site=site, orders=clocked, now=now)
    dispatched_by_order = {
        order.id: changes for (order, _), changes in zip(clocked, dispatched, strict=True)
    }
    for order, changes in opened:
        if changes:  # only a new order, not one another replica opened, dispatches
            changes.extend(dispatched_by_order.get(order.id, []))
    await _adopt_children(session, opened=opened, candidates=candidates, now=now)
    return opened


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


def _paging(
    values: NewOrder,
    silences: Sequence[Silence],
    candidates: Sequence[WorkOrder],
    policies: Mapping[str, SlaTimes],
    *,
    now: datetime,
) -> SlaTimes | None:
    """Silence, link or start the clock of the order ``values`` describe; its SLA times if any.

    Only a clocked order (neither silenced nor linked) has times, and only it calls out
    departments. ``candidates`` are the open orders of its building that may explain it.
    """
    silence = covering(
        silences,
        device_id=values["device_id"],
        building_id=values["building_id"],
        grid_id=values["grid_id"],
    )
    if silence is not None:
        values["silenced"] = True
        return None
    # A transient row (never added to the session) lets the linking rules read it as an order;
    # a building without open orders (most of a storm) has nothing to link to.
    parent = first_explaining(candidates, WorkOrder(**values)) if candidates else None
    if parent is not None:
        values["parent_id"] = parent.id
        return None
    times = policy_in(policies, values["severity"])
    if times is not None:
        clock = clock_values(status=values["status"], times=times, now=now)
        values["ack_due_at"] = clock["ack_due_at"]
        values["resolve_due_at"] = clock["resolve_due_at"]
        values["next_reminder_at"] = clock["next_reminder_at"]
    return times


async def _adopt_children(
    session: AsyncSession,
    *,
    opened: list[tuple[WorkOrder, list[OrderChange]]],
    candidates: Mapping[str, Sequence[WorkOrder]],
    now: datetime,
) -> None:
    """Link the still-unacknowledged orders each new root order explains (their clocks stop);
    their LINKED changes join the new order's."""
    roots = [
        (order, changes)
        for order, changes in opened
        if changes and not order.silenced and order.parent_id is None
    ]
    adoptable = await adoptable_among(
        session, [(order, candidates[order.building_id]) for order, _ in roots]
    )
    for (parent, changes), children in zip(roots, adoptable, strict=True):
        for child in children:
            linked = await update_if_unchanged(
                session,
                order_id=child.id,
                seen_version=child.version,
                values={"parent_id": parent.id, **NO_CLOCK},
                now=now,
            )
            if linked is not None:
                changes.append(OrderChange.of(linked, kind=ChangeKind.LINKED, at=now))


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
