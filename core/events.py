"""Device events: what the gateway emits and alerts consumes (the one seam between them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sensors.catalogue import Severity


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


@dataclass(frozen=True, slots=True)
class BuildingEvent:
    """Many devices of one group (building, circuit, edge) share a fault, as reported by an
    emitter that knows the wiring (the service's own grouping of pages lives in alerts).

    ``active`` says whether the building incident is open after this event; ``members`` are the
    device events it carries: raises that join the incident, clears of devices that are back.
    """

    building_id: str
    group_id: str  # "building:<id>", "circuit:<id>", "edge:<id>" ("community:", "street:")
    code: str
    active: bool
    severity: Severity
    ts: datetime
    members: tuple[DeviceEvent, ...]
    detail: str = ""

    @property
    def device_ids(self) -> tuple[str, ...]:
        """The devices this event attaches or releases."""
        return tuple(member.device_id for member in self.members)


AnyEvent = DeviceEvent | BuildingEvent


#: Called once an event is durable: the gateway acknowledges the message behind it only then.
OnCommitted = Callable[[], None]


class EventSink(Protocol):
    """Consumer of device and building events (alerts in production, a list in unit tests)."""

    async def publish(self, event: AnyEvent, *, on_committed: OnCommitted | None = None) -> None:
        """Take one event; call ``on_committed`` once it is durable. Never raises for one bad
        event; may wait while the consumer is full (backpressure)."""
        ...

    async def settled(self) -> None:
        """Return once every event published so far is durable (before a state checkpoint)."""
        ...
