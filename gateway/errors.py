"""Errors of the gateway: a small hierarchy that carries the context needed to act on them."""

from __future__ import annotations


class GatewayError(Exception):
    """Base class of everything the gateway raises on purpose."""


class SiteConfigError(GatewayError):
    """The site cannot be served: a device has an unknown type or a rule lacks a parameter."""

    def __init__(self, message: str, *, device_id: str) -> None:
        super().__init__(f"device {device_id}: {message}")
        self.device_id = device_id


class StateStoreError(GatewayError):
    """The rule/liveness checkpoint could not be read or written."""

    def __init__(self, message: str, *, operation: str) -> None:
        super().__init__(f"gateway state {operation}: {message}")
        self.operation = operation
