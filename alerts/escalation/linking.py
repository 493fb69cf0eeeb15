"""Linking: an open order that explains a lesser one takes it in instead of paging twice.

A new order is linked (``parent_id``) under an open, unsilenced, unlinked order of the same
building when one of these rules holds (the first matching parent by priority, then age):

1. **Explicit table** :data:`EXPLAINS` — same device, the parent's fault is a known cause of
   the child's (a tripped breaker explains the shed's port faults, a dead supply the lamp).
2. **Building incident** — a building-scoped order (one incident for many devices, raised by
   root-cause grouping) explains the device faults of :data:`BUILDING_EXPLAINS` in its building.
3. **Generic rule** — a critical order explains the minor orders of the same device.

Linked orders are recorded but have no SLA clock and page nobody but the parent's watchers.
When an explaining order opens after its children, it adopts the still-unacknowledged ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from sqlalchemy import Select, select
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
        return child.device_id is not None and child.fault_code in BUILDING_EXPLAINS
    if parent.device_id is None or parent.device_id != child.device_id:
        return False
    if child.fault_code in EXPLAINS.get(parent.fault_code, frozenset()):
        return True
    return parent.severity == Severity.CRITICAL.value and child.severity == Severity.MINOR.value


def _candidates_in(building_id: str, *, exclude: int) -> Select[WorkOrder]:
    return (
        select(WorkOrder)
        .where(
            WorkOrder.building_id == building_id,
            WorkOrder.id != exclude,
            WorkOrder.status.in_(_ACTIVE),
            WorkOrder.silenced.is_(False),
            WorkOrder.parent_id.is_(None),
        )
        .order_by(WorkOrder.priority.desc(), WorkOrder.created_at, WorkOrder.id)
    )


async def explaining_parent(session: AsyncSession, *, order: WorkOrder) -> WorkOrder | None:
    """The open order that explains ``order``, or None (then it pages on its own)."""
    rows = await session.scalars(_candidates_in(order.building_id, exclude=order.id))
    for candidate in rows:
        if explains(candidate, order):
            parent: WorkOrder = candidate
            return parent
    return None


async def adoptable_children(session: AsyncSession, *, parent: WorkOrder) -> list[WorkOrder]:
    """Still-unacknowledged orders that ``parent`` explains and that have no children."""
    rows = await session.scalars(_candidates_in(parent.building_id, exclude=parent.id))
    unacknowledged = [
        row for row in rows if row.status == OrderStatus.OPEN.value and explains(parent, row)
    ]
    if not unacknowledged:
        return []
    # An order that already explains others stays a root: links are one level deep.
    has_children = set(
        (
            await session.scalars(
                select(WorkOrder.parent_id).where(
                    WorkOrder.parent_id.in_([row.id for row in unacknowledged])
                )
            )
        ).all()
    )
    return [row for row in unacknowledged if row.id not in has_children]
