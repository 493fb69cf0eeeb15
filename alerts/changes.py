"""Facts about work-order changes, produced in the event's transaction.

These are the seam for the transactional outbox: a later dispatcher persists them in the same
transaction as the change and delivers notifications from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from storage.relational.models import WorkOrder


class ChangeKind(StrEnum):
    """What happened to an order."""

    OPENED = "opened"  # a new order for a (device, fault)
    RECURRED = "recurred"  # the fault came back while its order was still open
    REOPENED = "reopened"  # the fault came back after the order was resolved (not closed)
    RECOVERED = "recovered"  # the sensor reports the fault gone; a person still closes it


@dataclass(frozen=True, slots=True)
class OrderChange:
    """A snapshot of an order right after a change, with what the change was."""

    kind: ChangeKind
    order_id: int
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
    version: int
    at: datetime

    @classmethod
    def of(cls, order: WorkOrder, *, kind: ChangeKind, at: datetime) -> OrderChange:
        """The fact for ``order`` as it is now."""
        return cls(
            kind=kind,
            order_id=order.id,
            device_id=order.device_id,
            fault_code=order.fault_code,
            severity=order.severity,
            priority=order.priority,
            status=order.status,
            tier=order.tier,
            team_id=order.team_id,
            grid_id=order.grid_id,
            assignee=order.assignee,
            occurrences=order.occurrences,
            version=order.version,
            at=at,
        )
