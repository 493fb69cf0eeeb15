"""Linking: an open order that explains a lesser one takes it in instead of paging twice.

A new order is linked (``parent_id``) under an open, unsilenced, unlinked order of the same
building when one of these rules holds (the first matching parent by priority, then age):

1. **Explicit table** :data:`EXPLAINS` — same device, the parent's fault is a known cause of
   the child's (a tripped breaker explains the shed's port faults, a dead supply the lamp).
2. **Building incident** — a building-scoped order of a root-cause code (one incident for many
   devices, raised by root-cause grouping) explains the device faults of
   :data:`BUILDING_EXPLAINS` in its building.
3. **Generic rule** — a critical order explains the minor orders of the same device.

Linked orders are recorded but have no SLA clock and page nobody but the parent's watchers.
When an explaining order opens after its children, it adopts the still-unacknowledged ones.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from types import MappingProxyType

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sensors.catalogue import Severity
from storage.relational.models import OrderScope, OrderStatus, WorkOrder

#: parent fault code → fault codes of the SAME device it explains.
EXPLAINS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        # charging shed: no power behind a tripped breaker, so ports fault and load reads wrong
        "breaker_trip": frozenset({"port_fault", "overload"}),
        # charging shed: a fire heats the shed and burns the ports
        "smoke": frozenset({"overheat", "port_fault"}),
        # corridor light: no supply, or a short that blew it, leaves the lamp dark
        "no_power": frozenset({"lamp_failure"}),
        "short_circuit": frozenset({"lamp_failure", "no_power"}),
        # pipe: a burst drops the pressure and wets the leak sensor
        "burst": frozenset({"low_pressure", "leak"}),
    }
)

#: Device fault codes a building-scoped incident (power cut, mass offline) explains.
BUILDING_EXPLAINS = frozenset({"offline", "no_power", "lamp_failure"})

# Parents must still need work; resolved ones no longer explain anything new.
_ACTIVE = (OrderStatus.OPEN.value, OrderStatus.ACKNOWLEDGED.value, OrderStatus.IN_PROGRESS.value)


def explains(parent: WorkOrder, child: WorkOrder) -> bool:
    """True when ``parent`` explains ``child`` by one of the three rules."""
    if parent.id == child.id or parent.building_id != child.building_id:
        return False
    if parent.scope == OrderScope.BUILDING.value:
        # Only a root-cause incident (power cut, mass offline) explains its building's dark or
        # silent devices; a building order about something else (a resident's water-leak
        # report) explains nothing.
        return (
            parent.fault_code in BUILDING_EXPLAINS
            and child.device_id is not None
            and child.fault_code in BUILDING_EXPLAINS
        )
    if parent.device_id is None or parent.device_id != child.device_id:
        return False
    if child.fault_code in EXPLAINS.get(parent.fault_code, frozenset()):
        return True
    return parent.severity == Severity.CRITICAL.value and child.severity == Severity.MINOR.value


async def candidates_by_building(
    session: AsyncSession, building_ids: Collection[str]
) -> dict[str, list[WorkOrder]]:
    """The open, unsilenced, unlinked orders of each building, by priority then age (one
    query): the orders that may explain, or be explained by, a new order there."""
    if not building_ids:
        return {}
    query = (
        select(WorkOrder)
        .where(
            WorkOrder.building_id.in_(building_ids),
            WorkOrder.status.in_(_ACTIVE),
            WorkOrder.silenced.is_(False),
            WorkOrder.parent_id.is_(None),
        )
        .order_by(WorkOrder.priority.desc(), WorkOrder.created_at, WorkOrder.id)
    )
    by_building: dict[str, list[WorkOrder]] = {building: [] for building in building_ids}
    for order in await session.scalars(query):
        by_building[order.building_id].append(order)
    return by_building


def first_explaining(candidates: Sequence[WorkOrder], order: WorkOrder) -> WorkOrder | None:
    """The first of ``candidates`` (of ``order``'s building) that explains ``order``."""
    return next((parent for parent in candidates if explains(parent, order)), None)


async def adoptable_among(
    session: AsyncSession, parents: Sequence[tuple[WorkOrder, Sequence[WorkOrder]]]
) -> list[list[WorkOrder]]:
    """For each ``(parent, candidates of its building)``, the still-unacknowledged candidates
    it explains that have no children (one query for all of them)."""
    unacknowledged = [
        [
            row
            for row in candidates
            if row.status == OrderStatus.OPEN.value and explains(parent, row)
        ]
        for parent, candidates in parents
    ]
    ids = {row.id for rows in unacknowledged for row in rows}
    if not ids:
        return unacknowledged
    # An order that already explains others stays a root: links are one level deep.
    has_children = set(
        await session.scalars(select(WorkOrder.parent_id).where(WorkOrder.parent_id.in_(ids)))
    )
    return [[row for row in rows if row.id not in has_children] for rows in unacknowledged]
