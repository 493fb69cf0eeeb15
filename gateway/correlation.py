"""Root-cause grouping: one building incident instead of one alarm per device.

When a building loses power, every device in it goes ``offline`` (or reports ``no_power``) within
a short time. Like Alertmanager's ``group_wait``, the first such raise in a group (a building, or
one circuit or edge gateway of it when the site file says so) starts a hold of ``group_wait_s``;
raises and clears of the group's devices for that code are held meanwhile. When the hold ends:

* if at least ``min_devices`` devices and ``min_share`` of the group are affected, ONE
  :class:`BuildingEvent` opens the incident with the held raises attached as members;
* otherwise the held device events are released unchanged, in their original order.

While an incident is open, further raises join it and clears leave it (as ``BuildingEvent``s that
keep it open); the incident closes with the clear of its last attached device. Closing on the
threshold instead would turn a slow recovery (devices reconnecting over a minute) into a storm
of per-device orders for devices that are merely late.

The price: in groups big enough to be grouped, a single device's ``offline`` / ``no_power``
reaches alerts ``group_wait_s`` late. Groups smaller than ``min_devices`` are never held.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from core.events import AnyEvent, BuildingEvent, DeviceEvent
from core.settings import Settings
from governance.model import Site
from sensors.catalogue import OFFLINE, Severity

#: Fault codes a shared root cause (a power cut, a dead edge gateway) raises on many devices.
GROUPED_CODES = frozenset({OFFLINE, "no_power"})


@dataclass(frozen=True, slots=True)
class GroupingPolicy:
    """When a group's device events become one building incident."""

    enabled: bool
    group_wait_s: float
    min_share: float
    min_devices: int

    @classmethod
    def of(cls, settings: Settings, site: Site) -> GroupingPolicy:
        """The settings' defaults with the site file's ``street: grouping:`` overrides."""
        site_file = site.street.grouping
        return cls(
            enabled=site_file.enabled,
            group_wait_s=site_file.group_wait_s or settings.group_wait_s,
            min_share=site_file.min_share or settings.group_min_share,
            min_devices=site_file.min_devices or settings.group_min_devices,
        )

    def met(self, affected: int, size: int) -> bool:
        """True when ``affected`` devices out of ``size`` look like one root cause."""
        return affected >= self.min_devices and affected >= self.min_share * size


@dataclass(frozen=True, slots=True)
class Group:
    """Devices that share a root cause."""

    group_id: str
    building_id: str
    devices: frozenset[str]


class _Bucket:
    """One (group, code): who is affected, what is held, who is in the open incident."""

    __slots__ = ("affected", "code", "group", "held", "hold_until", "members")

    def __init__(self, group: Group, code: str) -> None:
        self.group = group
        self.code = code
        self.affected: set[str] = set()
        self.held: list[DeviceEvent] = []
        self.hold_until: float | None = None
        self.members: dict[str, DeviceEvent] | None = None  # raise events; None: no incident


def groups_of(site: Site, *, min_devices: int) -> dict[str, Group]:
    """device id → its group, for groups big enough to be grouped at all."""
    members: dict[str, set[str]] = {}
    buildings: dict[str, str] = {}
    for device in site.devices.values():
        members.setdefault(device.group_id, set()).add(device.id)
        buildings[device.group_id] = device.building_id
    by_device: dict[str, Group] = {}
    for group_id, devices in members.items():
        if len(devices) < min_devices:
            continue
        group = Group(group_id, buildings[group_id], frozenset(devices))
        for device_id in devices:
            by_device[device_id] = group
    return by_device


class Correlator:
    """Holds, groups and releases ``offline`` / ``no_power`` events; see the module docstring."""

    __slots__ = ("_buckets", "_groups", "_policy", "incidents_opened")

    def __init__(self, *, site: Site, policy: GroupingPolicy) -> None:
        self._policy = policy
        self._groups: Mapping[str, Group] = (
            groups_of(site, min_devices=policy.min_devices) if policy.enabled else {}
        )
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self.incidents_opened = 0

    @property
    def policy(self) -> GroupingPolicy:
        """The grouping parameters in force."""
        return self._policy

    def next_due(self) -> float | None:
        """When the earliest hold ends (epoch seconds), or None when nothing is held."""
        ends = [b.hold_until for b in self._buckets.values() if b.hold_until is not None]
        return min(ends, default=None)

    def offer(self, event: DeviceEvent, now: float) -> list[AnyEvent]:
        """Take one device event at ``now``; what to publish right away."""
        if event.code not in GROUPED_CODES:
            return [event]
        group = self._groups.get(event.device_id)
        if group is None:
            return [event]
        key = (group.group_id, event.code)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(group, event.code)
        device_id = event.device_id
        if event.active:
            bucket.affected.add(device_id)
            if bucket.members is not None:
                bucket.members[device_id] = event
                return [self._incident(bucket, active=True, members=(event,), ts=event.ts)]
            bucket.held.append(event)
            if bucket.hold_until is None:
                bucket.hold_until = now + self._policy.group_wait_s
            return []
        bucket.affected.discard(device_id)
        if bucket.members is not None and device_id in bucket.members:
            del bucket.members[device_id]
            still_open = bool(bucket.members)
            if not still_open:
                bucket.members = None
            return [self._incident(bucket, active=still_open, members=(event,), ts=event.ts)]
        if bucket.hold_until is not None and any(e.device_id == device_id for e in bucket.held):
            bucket.held.append(event)  # released (or dropped into the incident) with its raise
            return []
        return [event]

    def due(self, now: float) -> list[AnyEvent]:
        """End every hold whose ``group_wait_s`` has passed: incidents or released events."""
        out: list[AnyEvent] = []
        for bucket in self._buckets.values():
            if bucket.hold_until is None or bucket.hold_until > now:
                continue
            held, bucket.held, bucket.hold_until = bucket.held, [], None
            group = bucket.group
            raises = {e.device_id: e for e in held if e.active and e.device_id in bucket.affected}
            if raises and self._policy.met(len(bucket.affected), len(group.devices)):
                # Devices that blipped (raised and cleared) inside the hold go out as they were.
                out.extend(e for e in held if e.device_id not in raises)
                bucket.members = raises
                self.incidents_opened += 1
                first = min(e.ts for e in raises.values())
                out.append(
                    self._incident(bucket, active=True, members=tuple(raises.values()), ts=first)
                )
            else:
                out.extend(held)
        return out

    def drain(self) -> list[AnyEvent]:
        """Release every held event unchanged (clean shutdown: nothing accepted is lost)."""
        out: list[AnyEvent] = []
        for bucket in self._buckets.values():
            out.extend(bucket.held)
            bucket.held, bucket.hold_until = [], None
        return out

    def _incident(
        self, bucket: _Bucket, *, active: bool, members: tuple[DeviceEvent, ...], ts: datetime
    ) -> BuildingEvent:
        group = bucket.group
        severity = max((m.severity for m in members), key=lambda s: s.rank, default=Severity.MINOR)
        if bucket.members:
            severity = max(
                (severity, *(m.severity for m in bucket.members.values())), key=lambda s: s.rank
            )
        affected = len(bucket.affected)
        return BuildingEvent(
            building_id=group.building_id,
            group_id=group.group_id,
            code=bucket.code,
            active=active,
            severity=severity,
            ts=ts,
            members=members,
            detail=f"{affected} of {len(group.devices)} devices of {group.group_id}: {bucket.code}",
        )


__all__ = ["GROUPED_CODES", "Correlator", "Group", "GroupingPolicy", "groups_of"]
