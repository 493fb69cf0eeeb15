"""The one error tree of the alerts domain; each error carries the context a log line needs.

Every error the package raises on purpose is an :class:`AlertsError` and, where a request
caused it, exactly one of :class:`NotFoundError` (HTTP 404), :class:`ConflictError` (409) or
:class:`InvalidError` (422): the API maps these three bases, never the leaves.
"""

from __future__ import annotations

from collections.abc import Sequence


class AlertsError(Exception):
    """Base of every error the alerts package raises on purpose."""


class NotFoundError(AlertsError):
    """What the request names does not exist (HTTP 404)."""


class ConflictError(AlertsError):
    """The stored state forbids the request now: stale version, wrong status (HTTP 409)."""


class InvalidError(AlertsError):
    """The request itself is wrong; changing it fixes it (HTTP 422)."""


class DeliveryError(AlertsError):
    """A notification delivery failed; ``permanent`` ones are dead-lettered without retrying."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class EndpointThrottledError(DeliveryError):
    """A robot answered "too fast": back off that endpoint; the attempt does not count."""


class UnsupportedDatabaseError(AlertsError):
    """The relational store is neither SQLite nor PostgreSQL (the only two the dedup supports)."""

    def __init__(self, dialect: str) -> None:
        super().__init__(f"alerts needs SQLite or PostgreSQL, not {dialect!r}")
        self.dialect = dialect


# Not found ---------------------------------------------------------------------------------------


class OrderNotFoundError(NotFoundError):
    """No work order has that id."""

    def __init__(self, order_id: int) -> None:
        super().__init__(f"work order {order_id} not found")
        self.order_id = order_id


class DispatchNotFoundError(NotFoundError):
    """The department was never dispatched for that order."""

    def __init__(self, *, order_id: int, department_id: str) -> None:
        super().__init__(f"department {department_id!r} was not dispatched for order {order_id}")
        self.order_id = order_id
        self.department_id = department_id


# Conflicts ---------------------------------------------------------------------------------------


class StaleOrderError(ConflictError):
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


class ForbiddenTransitionError(ConflictError):
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


class HandBackError(ConflictError):
    """The order cannot be handed back to that tier in its current state."""

    def __init__(self, *, order_id: int, reason: str) -> None:
        super().__init__(f"work order {order_id} cannot be handed back: {reason}")
        self.order_id = order_id
        self.reason = reason


class AlreadyAcknowledgedError(ConflictError):
    """The department already acknowledged this dispatch."""

    def __init__(self, *, order_id: int, department_id: str, by: str | None) -> None:
        super().__init__(
            f"department {department_id!r} already acknowledged order {order_id}"
            + (f" (by {by})" if by else "")
        )
        self.order_id = order_id
        self.department_id = department_id


class OpenOrderConflictError(ConflictError):
    """An open order for the key existed at insert time but vanished before it could be read."""

    def __init__(self, open_key: str) -> None:
        super().__init__(f"open work order {open_key!r} changed concurrently; retry the event")
        self.open_key = open_key


# Invalid requests and events ---------------------------------------------------------------------


class UnknownDeviceError(InvalidError):
    """An event names a device the site file does not have."""

    def __init__(self, device_id: str) -> None:
        super().__init__(f"unknown device {device_id!r}: it is not in the site file")
        self.device_id = device_id


class UnknownBuildingError(InvalidError):
    """A building event names a building the site does not have."""

    def __init__(self, building_id: str) -> None:
        super().__init__(f"unknown building {building_id!r}")
        self.building_id = building_id


class UnknownFaultCodeError(InvalidError):
    """An event names a fault code outside its device type's catalogue."""

    def __init__(self, *, device_id: str, device_type: str, code: str) -> None:
        super().__init__(
            f"device {device_id!r} ({device_type}) has no fault code {code!r} in its catalogue"
        )
        self.device_id = device_id
        self.device_type = device_type
        self.code = code


class InvalidEventError(InvalidError):
    """An event is malformed (e.g. a naive timestamp) and must not touch the store."""

    def __init__(self, *, device_id: str, code: str, reason: str) -> None:
        super().__init__(f"bad event {device_id}:{code}: {reason}")
        self.device_id = device_id
        self.code = code
        self.reason = reason


class InvalidScheduleError(InvalidError):
    """A silence or roster entry names something the site lacks, or an empty interval."""


class InvalidCommandError(InvalidError):
    """A lifecycle command is wrong (fixable by changing it), whatever state the order is in."""


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
