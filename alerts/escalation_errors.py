"""Errors of SLA, escalation, departments, silences and rosters; each carries its context."""

from __future__ import annotations

from alerts.errors import AlertsError, ConflictError, InvalidError, NotFoundError


class EscalationError(AlertsError):
    """Base of the errors a person can fix by changing the request."""


class OrderNotFoundError(EscalationError, NotFoundError):
    """No work order has that id."""

    def __init__(self, order_id: int) -> None:
        super().__init__(f"work order {order_id} not found")
        self.order_id = order_id


class StaleVersionError(EscalationError, ConflictError):
    """The caller saw an older version of the order than the one stored."""

    def __init__(self, *, order_id: int, expected: int, actual: int) -> None:
        super().__init__(
            f"work order {order_id} is at version {actual}, not {expected}; reload it and retry"
        )
        self.order_id = order_id
        self.expected = expected
        self.actual = actual


class HandBackError(EscalationError, ConflictError):
    """The order cannot be handed back to that tier in its current state."""

    def __init__(self, *, order_id: int, reason: str) -> None:
        super().__init__(f"work order {order_id} cannot be handed back: {reason}")
        self.order_id = order_id
        self.reason = reason


class DispatchNotFoundError(EscalationError, NotFoundError):
    """The department was never dispatched for that order."""

    def __init__(self, *, order_id: int, department_id: str) -> None:
        super().__init__(f"department {department_id!r} was not dispatched for order {order_id}")
        self.order_id = order_id
        self.department_id = department_id


class AlreadyAcknowledgedError(EscalationError, ConflictError):
    """The department already acknowledged this dispatch."""

    def __init__(self, *, order_id: int, department_id: str, by: str | None) -> None:
        super().__init__(
            f"department {department_id!r} already acknowledged order {order_id}"
            + (f" (by {by})" if by else "")
        )
        self.order_id = order_id
        self.department_id = department_id


class InvalidScheduleError(EscalationError, InvalidError):
    """A silence or roster entry names something the site lacks, or an empty interval."""
