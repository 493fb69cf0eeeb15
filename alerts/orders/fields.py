"""The public fields of a work order: the one list a change record and a notification carry.

:class:`OrderFacts` is the definition. :class:`~alerts.orders.changes.OrderChange` extends it,
the outbox payload is built from :data:`ORDER_FIELDS`, and a test checks that the row
(``storage.relational.models.WorkOrder``) and the API schema (``WorkOrderOut``) have every
one of them — so a new public field is one line here plus its column.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from storage.relational.models import WorkOrder

#: Facts whose column has another name on the row (the row's primary key is plain ``id``).
ROW_COLUMN = {"order_id": "id"}


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFacts:
    """An order's public fields as they were right after a change."""

    order_id: int
    version: int
    device_id: str | None  # None for a building-scoped order
    fault_code: str
    severity: str
    priority: int
    status: str
    tier: str
    team_id: str
    grid_id: str
    assignee: str | None
    occurrences: int
    parent_id: int | None = None  # set: linked under that order, whose watchers hear of it
    silenced: bool = False  # raised inside a silence: recorded and streamed, pages nobody


#: The names of :class:`OrderFacts`, in payload order.
ORDER_FIELDS: tuple[str, ...] = tuple(field.name for field in fields(OrderFacts))


def facts_of(order: WorkOrder) -> dict[str, Any]:
    """The :data:`ORDER_FIELDS` of a stored order, by fact name."""
    return {name: getattr(order, ROW_COLUMN.get(name, name)) for name in ORDER_FIELDS}
