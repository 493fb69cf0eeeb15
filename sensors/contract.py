"""The MQTT message contract between devices and the service (see docs/mqtt-contract.md).

Topics: ``{prefix}/{device_id}/telemetry``, ``{prefix}/{device_id}/event``,
``{prefix}/{device_id}/status`` (retained ``online`` / ``offline``), and
``{prefix}/teams/{team_id}/workorders`` (service → crews).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_PREFIX = "fm"
DEVICE_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
STATUS_ONLINE = "online"
STATUS_OFFLINE = "offline"

MetricValue = float | bool


class Channel(StrEnum):
    """The last topic level of a device topic."""

    TELEMETRY = "telemetry"
    EVENT = "event"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class Telemetry:
    """A telemetry message as a device sends it; ``ts`` in epoch seconds, None = receive time."""

    metrics: Mapping[str, MetricValue]
    ts: float | None = None
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class FaultReport:
    """A device-reported fault raise (``active``) or clear."""

    code: str
    active: bool
    ts: float | None = None
    detail: str = ""


def telemetry_topic(device_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    """Topic a device publishes its readings on."""
    return f"{prefix}/{device_id}/{Channel.TELEMETRY}"


def event_topic(device_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    """Topic a device publishes fault events on."""
    return f"{prefix}/{device_id}/{Channel.EVENT}"


def status_topic(device_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    """Retained topic carrying the device's birth (online) and last will (offline)."""
    return f"{prefix}/{device_id}/{Channel.STATUS}"


def team_workorders_topic(team_id: str, prefix: str = DEFAULT_PREFIX) -> str:
    """Topic the service publishes work-order notifications for one team on."""
    return f"{prefix}/teams/{team_id}/workorders"


def device_subscriptions(prefix: str = DEFAULT_PREFIX) -> tuple[str, ...]:
    """Topic filters a consumer of device traffic subscribes to."""
    return tuple(f"{prefix}/+/{channel}" for channel in Channel)


def parse_device_topic(topic: str, prefix: str = DEFAULT_PREFIX) -> tuple[str, Channel] | None:
    """``(device_id, channel)`` of a device topic, or None when the topic is not one."""
    parts = topic.split("/")
    if len(parts) != 3 or parts[0] != prefix:
        return None
    device_id, channel = parts[1], parts[2]
    if not DEVICE_ID_PATTERN.fullmatch(device_id):
        return None
    try:
        return device_id, Channel(channel)
    except ValueError:
        return None


def encode_telemetry(message: Telemetry) -> bytes:
    """JSON payload of a telemetry message."""
    body: dict[str, object] = {"metrics": dict(message.metrics)}
    if message.ts is not None:
        body["ts"] = message.ts
    if message.seq is not None:
        body["seq"] = message.seq
    return json.dumps(body, separators=(",", ":")).encode()


def encode_fault_report(report: FaultReport) -> bytes:
    """JSON payload of a device fault event."""
    body: dict[str, object] = {"code": report.code, "active": report.active}
    if report.ts is not None:
        body["ts"] = report.ts
    if report.detail:
        body["detail"] = report.detail
    return json.dumps(body, separators=(",", ":")).encode()
