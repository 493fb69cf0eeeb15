"""Exceptions of the alerts package; each carries the context a log line or API error needs."""

from __future__ import annotations


class AlertsError(Exception):
    """Base of every error the alerts package raises on purpose."""


class NotFoundError(AlertsError):
    """What the request names does not exist (HTTP 404)."""


class ConflictError(AlertsError):
    """The stored state forbids the request now: stale version, wrong status (HTTP 409)."""


class InvalidError(AlertsError):
    """The request itself is wrong; changing it fixes it (HTTP 422)."""


class UnknownDeviceError(InvalidError):
    """An event names a device the site file does not have."""

    def __init__(self, device_id: str) -> None:
        super().__init__(f"unknown device {device_id!r}: it is not in the site file")
        self.device_id = device_id


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


class InvalidQueryError(InvalidError):
    """A listing was asked for with an impossible page (negative offset, limit below one)."""


class UnsupportedDatabaseError(AlertsError):
    """The relational store is neither SQLite nor PostgreSQL (the only two the dedup supports)."""

    def __init__(self, dialect: str) -> None:
        super().__init__(f"alerts needs SQLite or PostgreSQL, not {dialect!r}")
        self.dialect = dialect


class OpenOrderConflictError(ConflictError):
    """An open order for the key existed at insert time but vanished before it could be read."""

    def __init__(self, open_key: str) -> None:
        super().__init__(f"open work order {open_key!r} changed concurrently; retry the event")
        self.open_key = open_key
