"""Device events as JSON: how they cross a process boundary (the alerts inbox)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from core.events import AnyEvent, BuildingEvent, DeviceEvent, EventSource
from sensors.catalogue import Severity


class EventCodecError(ValueError):
    """A stored event could not be read back (written by a newer or broken writer)."""


def encode_event(event: AnyEvent) -> str:
    """One event as compact JSON; ``decode_event`` gives back an equal event."""
    return json.dumps(_fields(event), separators=(",", ":"), ensure_ascii=False)


def decode_event(text: str) -> AnyEvent:
    """The event ``encode_event`` wrote; EventCodecError when ``text`` is not one."""
    try:
        fields = json.loads(text)
        if fields.get("kind") == "building":
            return BuildingEvent(
                building_id=fields["building_id"],
                group_id=fields["group_id"],
                code=fields["code"],
                active=bool(fields["active"]),
                severity=Severity(fields["severity"]),
                ts=datetime.fromisoformat(fields["ts"]),
                members=tuple(_device(member) for member in fields["members"]),
                detail=fields.get("detail", ""),
            )
        return _device(fields)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise EventCodecError(f"not a stored device event: {exc}") from exc


def _fields(event: AnyEvent) -> dict[str, Any]:
    if isinstance(event, DeviceEvent):
        return {
            "kind": "device",
            "device_id": event.device_id,
            "code": event.code,
            "active": event.active,
            "severity": event.severity.value,
            "ts": event.ts.isoformat(),
            "source": event.source.value,
            "detail": event.detail,
        }
    return {
        "kind": "building",
        "building_id": event.building_id,
        "group_id": event.group_id,
        "code": event.code,
        "active": event.active,
        "severity": event.severity.value,
        "ts": event.ts.isoformat(),
        "members": [_fields(member) for member in event.members],
        "detail": event.detail,
    }


def _device(fields: dict[str, Any]) -> DeviceEvent:
    ts = datetime.fromisoformat(fields["ts"])
    if ts.tzinfo is None:
        raise ValueError("timestamp without a zone")
    return DeviceEvent(
        device_id=fields["device_id"],
        code=fields["code"],
        active=bool(fields["active"]),
        severity=Severity(fields["severity"]),
        ts=ts,
        source=EventSource(fields["source"]),
        detail=fields.get("detail", ""),
    )
