"""What an event must be before it is handled: refused before anything is written."""

from __future__ import annotations

from datetime import UTC, datetime

from alerts.errors import InvalidEventError, UnknownDeviceError, UnknownFaultCodeError
from alerts.orders.routing import route_fault
from core.events import DeviceEvent
from governance.model import Site
from sensors.catalogue import OFFLINE
from sensors.profiles import PROFILES


def event_time(event: DeviceEvent) -> datetime:
    """When the event happened, in UTC; InvalidEventError for a timestamp without zone."""
    if event.ts.tzinfo is None or event.ts.utcoffset() is None:
        raise InvalidEventError(
            device_id=event.device_id, code=event.code, reason="timestamp has no time zone"
        )
    return event.ts.astimezone(UTC)


def check_event(site: Site, event: DeviceEvent) -> None:
    """Refuse what cannot be handled, before anything is written: a timestamp without zone
    and, for a raise, a device or fault code the site does not have."""
    event_time(event)
    if not event.active:
        return  # a clear of something never raised finds nothing to end
    device = site.devices.get(event.device_id)
    if device is None:
        raise UnknownDeviceError(event.device_id)
    profile = PROFILES.get(device.type)
    known = profile.fault_codes if profile is not None else frozenset({OFFLINE})
    if event.code not in known:
        raise UnknownFaultCodeError(
            device_id=event.device_id, device_type=device.type, code=event.code
        )
    route_fault(site, device_id=event.device_id, severity=event.severity)
