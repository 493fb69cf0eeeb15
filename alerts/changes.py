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
    # SLA and escalation (alerts/escalation.py, alerts/departments.py, alerts/linking.py):
    ESCALATED = "escalated"  # a deadline was missed; the order moved one tier up (see from_tier)
    REMINDED = "reminded"  # still unacknowledged (department_id set: the department's dispatch)
    HANDED_BACK = "handed_back"  # a higher tier handed the order down (see from_tier, reason)
    DISPATCHED = "dispatched"  # a functional department was called out (see department_id)
    DEPARTMENT_ACKNOWLEDGED = "department_acknowledged"  # that department acknowledged
    LINKED = "linked"  # an open order was linked under an explaining order (see parent_id)
    # Lifecycle commands of people (alerts/lifecycle.py); ``reason`` carries their note:
    ACKNOWLEDGED = "acknowledged"  # someone took the order
    STARTED = "started"  # work began (from resolved: rework, the fix did not hold)
    RESOLVED = "resolved"  # the crew reports it fixed
    CLOSED = "closed"  # verified and closed; a recurrence within the window reopens it
    CANCELLED = "cancelled"  # a false alarm; never reopened
    REASSIGNED = "reassigned"  # another team member answers for it now (see assignee)


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
    # Escalation context (defaults keep the older facts unchanged):
    parent_id: int | None = None  # set: linked under that order, whose watchers hear of it
    silenced: bool = False  # raised inside a silence: recorded and streamed, pages nobody
    department_id: str | None = None  # DISPATCHED / REMINDED / DEPARTMENT_ACKNOWLEDGED
    from_tier: str | None = None  # ESCALATED / HANDED_BACK: the tier the order left
    reason: str = ""  # ESCALATED: which deadline was missed; HANDED_BACK: why

    @property
    def pages(self) -> bool:
        """Whether people are paged: not for silenced orders nor orders linked to a parent."""
        return not self.silenced and self.parent_id is None

    @classmethod
    def of(
        cls,
        order: WorkOrder,
        *,
        kind: ChangeKind,
        at: datetime,
        department_id: str | None = None,
        from_tier: str | None = None,
        reason: str = "",
    ) -> OrderChange:
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
            parent_id=order.parent_id,
            silenced=bool(order.silenced),
            department_id=department_id,
            from_tier=from_tier,
            reason=reason,
        )
