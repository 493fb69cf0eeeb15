"""Facts about work-order changes, produced in the change's own transaction.

They are the seam of the transactional outbox: ``alerts.notifications.outbox`` turns each one
into outbox rows in the same transaction, and the relay delivers them after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from alerts.orders.fields import OrderFacts, facts_of
from storage.relational.models import WorkOrder


class ChangeKind(StrEnum):
    """What happened to an order."""

    OPENED = "opened"  # a new order for a (device, fault)
    RECURRED = "recurred"  # the fault came back while its order was still open
    REOPENED = "reopened"  # the fault came back after the order was resolved (not closed)
    RECOVERED = "recovered"  # the sensor reports the fault gone; a person still closes it
    # SLA and escalation (alerts/escalation/):
    ESCALATED = "escalated"  # a deadline was missed; the order moved one tier up (see from_tier)
    REMINDED = "reminded"  # still unacknowledged (department_id set: the department's dispatch)
    HANDED_BACK = "handed_back"  # a higher tier handed the order down (see from_tier, reason)
    DISPATCHED = "dispatched"  # a functional department was called out (see department_id)
    DEPARTMENT_ACKNOWLEDGED = "department_acknowledged"  # that department acknowledged
    LINKED = "linked"  # an open order was linked under an explaining order (see parent_id)
    # Lifecycle commands of people (alerts/orders/lifecycle.py); ``reason`` carries their note:
    ACKNOWLEDGED = "acknowledged"  # someone took the order
    STARTED = "started"  # work began (from resolved: rework, the fix did not hold)
    RESOLVED = "resolved"  # the crew reports it fixed
    CLOSED = "closed"  # verified and closed; a recurrence within the window reopens it
    CANCELLED = "cancelled"  # a false alarm; never reopened
    REASSIGNED = "reassigned"  # another team member answers for it now (see assignee)


#: Columns of the order a change also snapshots for the words of its notifications
#: (``alerts.notifications.wording``): where it is, what was measured and its running deadlines.
CONTEXT_FIELDS = ("scope", "building_id", "community_id", "detail", "ack_due_at", "resolve_due_at")


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderChange(OrderFacts):
    """A snapshot of an order right after a change, with what the change was."""

    kind: ChangeKind
    at: datetime
    department_id: str | None = None  # DISPATCHED / REMINDED / DEPARTMENT_ACKNOWLEDGED
    from_tier: str | None = None  # ESCALATED / HANDED_BACK: the tier the order left
    reason: str = ""  # ESCALATED: which deadline was missed; HANDED_BACK: why
    # The order's CONTEXT_FIELDS right after the change:
    scope: str = "device"
    building_id: str | None = None
    community_id: str | None = None
    detail: str = ""
    ack_due_at: datetime | None = None
    resolve_due_at: datetime | None = None

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
            **facts_of(order),
            kind=kind,
            at=at,
            department_id=department_id,
            from_tier=from_tier,
            reason=reason,
            **{name: getattr(order, name) for name in CONTEXT_FIELDS},
        )
