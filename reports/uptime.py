"""Uptime per device and its roll-up: one linear sweep over episodes sorted by device and start.

A device's down time is the union of its fault and offline episodes inside the part of the window
it was on the site, minus the planned maintenance (silences) covering it; open episodes run to the
window's end. Roll-ups weight devices by their monitored time: sum of down over sum of monitored.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from governance.model import Device, Site
from reports.intervals import Span, add_to_buckets, clip, merge, overlap, subtract, total
from reports.reading import EpisodeRow, MaintenanceWindow


@dataclass(frozen=True, slots=True)
class Outage:
    """One merged down interval of a device, with every fault code active in it."""

    device_id: str
    codes: tuple[str, ...]
    start: float
    end: float

    @property
    def duration_s(self) -> float:
        """How long the device was down."""
        return self.end - self.start


@dataclass(slots=True)
class DeviceFigures:
    """One device's seconds on the site, down and under maintenance, and its outages."""

    device_id: str
    monitored_s: float = 0.0
    down_s: float = 0.0
    maintenance_s: float = 0.0
    failures: int = 0
    outages: list[Outage] = field(default_factory=list)


@dataclass(slots=True)
class Totals:
    """Device-time-weighted sums over many devices (and per bucket, when buckets are asked)."""

    devices: int = 0
    monitored_s: float = 0.0
    down_s: float = 0.0
    maintenance_s: float = 0.0
    failures: int = 0
    bucket_down_s: list[float] = field(default_factory=list)
    bucket_monitored_s: list[float] = field(default_factory=list)

    @property
    def availability(self) -> float | None:
        """1 - down / monitored; None when no device was on the site in the window."""
        return None if self.monitored_s <= 0 else 1.0 - self.down_s / self.monitored_s

    def add(self, figures: DeviceFigures) -> None:
        """Count one device in."""
        self.devices += 1
        self.monitored_s += figures.monitored_s
        self.down_s += figures.down_s
        self.maintenance_s += figures.maintenance_s
        self.failures += figures.failures


@dataclass(frozen=True, slots=True)
class Window:
    """The window in epoch seconds; ``end`` is already capped at now."""

    start: float
    end: float

    @classmethod
    def of(cls, start: datetime, end: datetime) -> Window:
        """From aware datetimes."""
        return cls(start.timestamp(), end.timestamp())


def _maintenance_by_target(
    windows: Iterable[MaintenanceWindow],
) -> dict[tuple[str, str], list[Span]]:
    by_target: dict[tuple[str, str], list[Span]] = defaultdict(list)
    for window in windows:
        by_target[(window.kind, window.scope_id)].append((window.start, window.end))
    return by_target


def _maintenance_of(
    site: Site, device: Device, by_target: Mapping[tuple[str, str], list[Span]]
) -> list[Span]:
    if not by_target:
        return []
    building = site.buildings[device.building_id]
    spans = [
        *by_target.get(("device", device.id), ()),
        *by_target.get(("building", building.id), ()),
        *by_target.get(("grid", building.grid_id), ()),
    ]
    return merge(sorted(spans))


def _down_spans(
    episodes: Sequence[EpisodeRow], low: float, high: float, device_id: str, outages: list[Outage]
) -> list[Span]:
    """Merged episodes clipped to ``[low, high)``; fills ``outages`` with their codes."""
    merged: list[Span] = []
    codes: list[set[str]] = []
    for _device, code, started, ended in episodes:
        start = max(started, low)
        end = high if ended is None else min(ended, high)
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
            codes[-1].add(code)
        else:
            merged.append((start, end))
            codes.append({code})
    outages.extend(
        Outage(device_id, tuple(sorted(c)), s, e) for (s, e), c in zip(merged, codes, strict=True)
    )
    return merged


def device_figures(
    site: Site,
    device: Device,
    episodes: Sequence[EpisodeRow],
    window: Window,
    maintenance: Mapping[tuple[str, str], list[Span]],
    bucket_edges: Sequence[float] = (),
    bucket_down_s: list[float] | None = None,
) -> DeviceFigures:
    """One device's figures from its episodes (sorted by start) over ``window``."""
    figures = DeviceFigures(device.id)
    installed = device.installed_at.timestamp() if device.installed_at else window.start
    low, high = max(window.start, installed), window.end
    if low >= high:
        return figures
    figures.monitored_s = high - low
    down = _down_spans(episodes, low, high, device.id, figures.outages)
    # A failure is an outage that began inside the window (not one already running at its start).
    figures.failures = sum(1 for outage in figures.outages if outage.start > low)
    planned = clip(_maintenance_of(site, device, maintenance), low, high)
    figures.maintenance_s = total(planned)
    unplanned = subtract(down, planned)
    figures.down_s = total(unplanned)
    if bucket_down_s is not None:
        add_to_buckets(unplanned, bucket_edges, bucket_down_s)
    return figures


def _bucket_monitored(
    starts: Counter[float], window: Window, edges: Sequence[float]
) -> list[float]:
    # Devices share a handful of join times (most have none), so this is buckets x join times.
    sums = [0.0] * (len(edges) - 1)
    for low, count in starts.items():
        for index in range(len(sums)):
            sums[index] += count * overlap((low, window.end), edges[index], edges[index + 1])
    return sums


def compute(
    site: Site,
    devices: Sequence[Device],
    episodes: Sequence[EpisodeRow],
    window: Window,
    maintenance: Iterable[MaintenanceWindow] = (),
    bucket_edges: Sequence[float] = (),
) -> tuple[dict[str, DeviceFigures], Totals]:
    """Every device's figures and their device-time-weighted totals (with buckets if edges)."""
    by_target = _maintenance_by_target(maintenance)
    wanted = {device.id: device for device in devices}
    with_buckets = len(bucket_edges) >= 2
    totals = Totals(bucket_down_s=[0.0] * (len(bucket_edges) - 1) if with_buckets else [])
    figures: dict[str, DeviceFigures] = {}
    index, count = 0, len(episodes)
    own: dict[str, Sequence[EpisodeRow]] = {}
    while index < count:
        device_id = episodes[index][0]
        stop = index
        while stop < count and episodes[stop][0] == device_id:
            stop += 1
        if device_id in wanted:
            own[device_id] = episodes[index:stop]
        index = stop
    joined: Counter[float] = Counter()
    for device in devices:
        result = device_figures(
            site,
            device,
            own.get(device.id, ()),
            window,
            by_target,
            bucket_edges,
            totals.bucket_down_s if with_buckets else None,
        )
        figures[device.id] = result
        totals.add(result)
        if result.monitored_s > 0:
            joined[window.end - result.monitored_s] += 1
    if with_buckets:
        totals.bucket_monitored_s = _bucket_monitored(joined, window, bucket_edges)
    return figures, totals
