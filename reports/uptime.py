"""Uptime per device and its roll-up: one linear sweep over episodes sorted by device and start.

A device's down time is the union of its fault and offline episodes inside the part of the window
it was on the site, minus the planned maintenance (silences) covering it; open episodes run to the
window's end. Roll-ups weight devices by their monitored time: sum of down over sum of monitored.

The sweep is the hot loop of every report (a year street-wide is some 240,000 episodes), so it
keeps plain tuples and floats and builds outage objects only for the outages a caller lists
(their codes come from a second, small read: :func:`with_codes`).
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from operator import itemgetter

from governance.model import Device, Site
from reports.intervals import Span, add_to_buckets, clip, merge, overlap, subtract, total
from reports.reading import CodedEpisode, EpisodeRow, MaintenanceWindow


@dataclass(frozen=True, slots=True)
class Outage:
    """One merged down interval of a device, with every fault code active in it."""

    device_id: str
    start: float
    end: float
    codes: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        """How long the device was down."""
        return self.end - self.start


@dataclass(slots=True)
class DeviceFigures:
    """One device's seconds on the site, down and under maintenance, and its merged outages."""

    device_id: str
    monitored_s: float = 0.0
    down_s: float = 0.0
    maintenance_s: float = 0.0
    failures: int = 0
    # Merged episodes, sorted by start (the outages, before maintenance is taken out).
    spans: list[Span] = field(default_factory=list)

    def outage(self, index: int) -> Outage:
        """The ``index``-th merged outage as an object (without codes: see :func:`with_codes`)."""
        start, end = self.spans[index]
        return Outage(self.device_id, start, end)

    def outages(self) -> Iterator[Outage]:
        """Every merged outage, oldest first."""
        return (self.outage(index) for index in range(len(self.spans)))


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


def _merge_episodes(
    episodes: Iterable[EpisodeRow], low: float, high: float, spans: list[Span]
) -> float:
    """Append episodes clipped to ``[low, high)`` to ``spans``, merged; their total length."""
    length = 0.0
    current_start = current_end = -1.0
    for _device, start, end in episodes:
        if start < low:
            start = low
        if end is None or end > high:
            end = high
        if end <= start:
            continue
        if start <= current_end:
            if end > current_end:
                current_end = end
            continue
        if current_end >= 0:
            spans.append((current_start, current_end))
            length += current_end - current_start
        current_start, current_end = start, end
    if current_end >= 0:
        spans.append((current_start, current_end))
        length += current_end - current_start
    return length


def with_codes(outages: Iterable[Outage], episodes: Iterable[CodedEpisode]) -> list[Outage]:
    """The outages with the codes of the episodes that make them up."""
    by_device: dict[str, list[CodedEpisode]] = defaultdict(list)
    for episode in episodes:
        by_device[episode[0]].append(episode)
    coded: list[Outage] = []
    for outage in outages:
        codes = {
            code
            for _device, code, start, end in by_device[outage.device_id]
            if start < outage.end and (end is None or end > outage.start)
        }
        coded.append(dataclasses.replace(outage, codes=tuple(sorted(codes))))
    return coded


def device_figures(
    site: Site,
    device: Device,
    episodes: Iterable[EpisodeRow],
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
    down_s = _merge_episodes(episodes, low, high, figures.spans)
    down = figures.spans
    # A failure is an outage that began inside the window (not one already running at its start).
    figures.failures = len(down) - (1 if down and down[0][0] <= low else 0)
    planned = clip(_maintenance_of(site, device, maintenance), low, high)
    if planned:
        figures.maintenance_s = total(planned)
        down = subtract(down, planned)
        down_s = total(down)
    figures.down_s = down_s
    if bucket_down_s is not None and down:
        add_to_buckets(down, bucket_edges, bucket_down_s)
    return figures


def _bucket_monitored(
    starts: Counter[float], window: Window, edges: Sequence[float]
) -> list[float]:
    # Devices share a handful of join times (most have none): buckets x join times, not devices.
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
    bucket_sums = totals.bucket_down_s if with_buckets else None
    figures: dict[str, DeviceFigures] = {}
    # Episodes come sorted by device: each group is swept as it streams past.
    for device_id, rows in groupby(episodes, key=itemgetter(0)):
        device = wanted.get(device_id)
        if device is not None:
            figures[device_id] = device_figures(
                site, device, rows, window, by_target, bucket_edges, bucket_sums
            )
    joined: Counter[float] = Counter()
    for device in devices:
        result = figures.get(device.id)
        if result is None:
            result = device_figures(site, device, (), window, by_target, bucket_edges, bucket_sums)
            figures[device.id] = result
        totals.add(result)
        if result.monitored_s > 0:
            joined[window.end - result.monitored_s] += 1
    if with_buckets:
        totals.bucket_monitored_s = _bucket_monitored(joined, window, bucket_edges)
    return figures, totals
