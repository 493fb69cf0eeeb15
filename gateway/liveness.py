"""Liveness: offline on last will or heartbeat silence, online again on any sign of life.

Only devices seen at least once are swept for silence: seen since this process started, or
restored from the last checkpoint (gateway/state.py), whose silence clocks restart at the restore
— the gateway was away, not the devices, and raising the whole fleet offline at boot would flood
the crews with false orders. A device that died while the gateway was down is therefore marked
offline one silence limit after the restart; one that left a last will is caught at once by its
retained ``offline`` status, which the broker delivers when the gateway subscribes.

While the gateway itself is cut off from the broker, silence says nothing about the devices;
``grace()`` restarts every silence clock when the connection comes back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.clock import Clock, from_epoch
from core.events import DeviceEvent, EventSource
from gateway.errors import SiteConfigError
from governance.model import Site
from sensors.catalogue import OFFLINE, Severity
from sensors.profiles import PROFILES, effective_params

HEARTBEAT_PARAM = "heartbeat_s"
MISSED_HEARTBEATS_PARAM = "offline_after_heartbeats"


@dataclass(frozen=True, slots=True)
class _Policy:
    severity: Severity
    silence_limit_s: float


class Liveness:
    """Online/offline state of every device of a site."""

    __slots__ = ("_clock", "_last_seen", "_offline", "_policies")

    def __init__(self, *, site: Site, clock: Clock) -> None:
        policies: dict[str, _Policy] = {}
        for device_id, device in site.devices.items():
            profile = PROFILES.get(device.type)
            if profile is None:
                raise SiteConfigError(f"unknown device type {device.type!r}", device_id=device_id)
            params = effective_params(profile, *site.overrides_for(device_id))
            try:
                limit = params[HEARTBEAT_PARAM] * params[MISSED_HEARTBEATS_PARAM]
            except KeyError as exc:
                raise SiteConfigError(
                    f"liveness parameter {exc.args[0]!r} is not defined", device_id=device_id
                ) from exc
            policies[device_id] = _Policy(profile.offline_severity, limit)
        self._policies = policies
        self._clock = clock
        self._last_seen: dict[str, float] = {}
        self._offline: set[str] = set()

    def is_offline(self, device_id: str) -> bool:
        """True while the device is considered offline."""
        return device_id in self._offline

    def seen(self, device_id: str, ts: float) -> DeviceEvent | None:
        """A valid message arrived at ``ts`` (epoch seconds); clears ``offline`` if raised."""
        self._last_seen[device_id] = ts
        if device_id not in self._offline:
            return None
        return self._change(device_id, ts, offline=False, detail="device spoke again")

    def status(self, device_id: str, *, online: bool, ts: float) -> DeviceEvent | None:
        """Birth (``online``) or last will (``offline``) on the status topic."""
        if online:
            return self.seen(device_id, ts)
        self._last_seen.pop(device_id, None)  # the will says it all; no silence sweep needed
        if device_id in self._offline:
            return None
        return self._change(device_id, ts, offline=True, detail="last will: connection lost")

    def sweep(self) -> list[DeviceEvent]:
        """Mark offline every seen device that has been silent past its limit."""
        now = self._clock().timestamp()
        events: list[DeviceEvent] = []
        for device_id, last in list(self._last_seen.items()):
            if device_id in self._offline:
                continue
            limit = self._policies[device_id].silence_limit_s
            silent = now - last
            if silent >= limit:
                detail = f"silent for {silent:.0f}s (limit {limit:.0f}s)"
                events.append(self._change(device_id, now, offline=True, detail=detail))
        return events

    def grace(self) -> None:
        """Restart every silence clock (the gateway was disconnected, not the devices)."""
        now = self._clock().timestamp()
        for device_id in self._last_seen:
            self._last_seen[device_id] = now

    # Persistence -------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Per tracked device: when it was last seen and whether it is offline (plain data)."""
        out: dict[str, dict[str, Any]] = {}
        for device_id, last in self._last_seen.items():
            out[device_id] = {"last_seen": last, "offline": device_id in self._offline}
        for device_id in self._offline:
            if device_id not in out:
                out[device_id] = {"last_seen": None, "offline": True}
        return out

    def restore(self, snapshot: Mapping[str, Mapping[str, Any]]) -> None:
        """Load a ``snapshot()`` taken before a restart, without emitting anything.

        Offline devices stay offline (no re-raise). Tracked devices keep being swept, but their
        silence clock restarts now: the gateway was away, so silence says nothing about the
        devices yet; one that died meanwhile is marked offline one silence limit after restart.
        """
        now = self._clock().timestamp()
        for device_id, saved in snapshot.items():
            if device_id not in self._policies:
                continue
            if saved.get("offline"):
                self._offline.add(device_id)
            last = saved.get("last_seen")
            if last is not None:
                self._last_seen[device_id] = max(float(last), now)

    def _change(self, device_id: str, ts: float, *, offline: bool, detail: str) -> DeviceEvent:
        if offline:
            self._offline.add(device_id)
        else:
            self._offline.discard(device_id)
        return DeviceEvent(
            device_id=device_id,
            code=OFFLINE,
            active=offline,
            severity=self._policies[device_id].severity,
            ts=from_epoch(ts),
            source=EventSource.LIVENESS,
            detail=detail,
        )
