"""Device events: what the gateway emits and alerts consumes (the one seam between them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sensors.profiles import OFFLINE, Severity

__all__ = ["OFFLINE", "DeviceEvent", "EventSink", "EventSource", "Severity"]


class EventSource(StrEnum):
    """Who decided the fault state changed."""

    RULE = "rule"  # a fault rule over telemetry
    DEVICE = "device"  # the device reported it on its event topic
    LIVENESS = "liveness"  # last will or heartbeat silence


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """A fault (or ``offline``) of one device was raised (``active``) or cleared."""

    device_id: str
    code: str
    active: bool
    severity: Severity
    ts: datetime
    source: EventSource
    detail: str = ""


class EventSink(Protocol):
    """Consumer of device events (alerts in production, a list in unit tests)."""

    async def publish(self, event: DeviceEvent) -> None:
        """Handle one event; must not raise for a single bad event."""
        ...
