"""Errors of the work-order lifecycle; each names what to do about it.

The API maps them: not found → 404, a stale version or a state that forbids the command → 409,
anything the request itself got wrong (a missing note, an unknown member) → 422.
"""

from __future__ import annotations

from collections.abc import Sequence

from alerts.errors import AlertsError, ConflictError, InvalidError, NotFoundError


class LifecycleError(AlertsError):
    """Base of the errors a lifecycle command raises; the order is left unchanged."""


class OrderNotFoundError(LifecycleError, NotFoundError):
    """No work order has that id."""

    def __init__(self, order_id: int) -> None:
        super().__init__(f"work order {order_id} not found")
        self.order_id = order_id


class StaleOrderError(LifecycleError, ConflictError):
    """The caller acted on an older version of the order than the one stored."""

    def __init__(self, *, order_id: int, seen: int, version: int, status: str) -> None:
        super().__init__(
            f"work order {order_id} changed since you loaded it (you sent version {seen}; it is "
            f"now version {version}, status {status}); reload it and decide again"
        )
        self.order_id = order_id
        self.seen = seen
        self.version = version
        self.status = status


class ForbiddenTransitionError(LifecycleError, ConflictError):
    """The order's current state does not allow the command."""

    def __init__(self, *, order_id: int, status: str, action: str, allowed: Sequence[str]) -> None:
        options = ", ".join(allowed) if allowed else "none (the order is finished)"
        super().__init__(
            f"work order {order_id} is {status}: cannot {action} it; allowed now: {options}"
        )
        self.order_id = order_id
        self.status = status
        self.action = action
        self.allowed = tuple(allowed)


class InvalidCommandError(LifecycleError, InvalidError):
    """The request itself is wrong (fixable by changing it), whatever state the order is in."""


class NoteRequiredError(InvalidCommandError):
    """Closing and cancelling must say why; reassigning must give a reason."""

    def __init__(self, *, action: str, hint: str) -> None:
        super().__init__(f"{action} needs a note: {hint}")
        self.action = action


class UnknownMemberError(InvalidCommandError):
    """A member id that is not in the order's team."""

    def __init__(self, *, member_id: str, team_id: str, known: Sequence[str]) -> None:
        super().__init__(
            f"{member_id!r} is not a member of team {team_id!r}; its members are "
            + ", ".join(known)
        )
        self.member_id = member_id
        self.team_id = team_id


class AlreadyAssignedError(InvalidCommandError):
    """Reassigning an order to the member it is already assigned to."""

    def __init__(self, *, order_id: int, assignee: str) -> None:
        super().__init__(f"work order {order_id} is already assigned to {assignee!r}")
        self.order_id = order_id
        self.assignee = assignee
