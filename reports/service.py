"""The uptime report of one scope: episodes and silences read in bulk, swept, rolled up."""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from governance.model import Device, Site
from reports.buckets import BucketSize, bucket_edges
from reports.errors import InvalidWindowError
from reports.order_history import order_times
from reports.reading import read_codes, read_episodes, read_maintenance
from reports.scope import Scope, Target, resolve
from reports.uptime import DeviceFigures, Outage, Totals, Window, compute, with_codes
from storage.relational.models import WorkOrder

#: Most outages one answer lists (the longest-running list is a year street-wide); the total
#: count is always given, so a client knows when it saw only the latest ones.
MAX_OUTAGES = 1000
CODE_READ_SLACK = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Bucket:
    """One chart bucket: its bounds, its availability (None: nothing monitored) and down time."""

    start: datetime
    end: datetime
    availability: float | None
    down_s: float


@dataclass(frozen=True, slots=True)
class UptimeReport:
    """Uptime of one scope over a window, with its outages, buckets, MTTA and MTTR."""

    target: Target
    start: datetime
    end: datetime
    totals: Totals
    outages: Sequence[Outage]
    outages_total: int
    buckets: Sequence[Bucket]
    mtta_s: float | None
    mttr_s: float | None


def check_window(start: datetime, end: datetime) -> None:
    """InvalidWindowError unless ``start`` is before ``end``."""
    if start >= end:
        raise InvalidWindowError(
            f"start ({start.isoformat()}) must be before end ({end.isoformat()})"
        )


def as_datetime(epoch_s: float) -> datetime:
    """Epoch seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(epoch_s, UTC)


async def device_uptime(
    session: AsyncSession,
    site: Site,
    devices: Sequence[Device],
    *,
    start: datetime,
    as_of: datetime,
    every_device: bool,
    edges: Sequence[datetime] = (),
) -> tuple[dict[str, DeviceFigures], Totals]:
    """Figures of ``devices`` over ``[start, as_of)``; ``every_device`` reads without a filter."""
    if start >= as_of:
        return compute(site, devices, [], Window(0.0, 0.0))
    episodes = await read_episodes(
        session,
        start=start,
        end=as_of,
        device_ids=None if every_device else [d.id for d in devices],
    )
    maintenance = await read_maintenance(session, start=start, end=as_of)
    return compute(
        site,
        devices,
        episodes,
        Window.of(start, as_of),
        maintenance,
        [edge.timestamp() for edge in edges],
    )


def _first_from(spans: Sequence[tuple[float, float]], threshold: float) -> int:
    return bisect_left(spans, threshold, key=itemgetter(0))


def latest_outages(figures: Mapping[str, DeviceFigures], limit: int) -> list[Outage]:
    """The ``limit`` latest-starting outages of all devices, latest first.

    The limit-th latest start is found over bare floats first; only the outages from there on
    (bisected out of each device's sorted list) become objects.
    """
    starts = (start for device in figures.values() for start, _ in device.spans)
    newest = heapq.nlargest(limit, starts)
    if not newest:
        return []
    threshold = newest[-1]
    chosen = [
        (device.spans[index][0], device.device_id, index)
        for device in figures.values()
        for index in range(
            bisect_left(device.spans, threshold, key=itemgetter(0)), len(device.spans)
        )
    ]
    chosen.sort(reverse=True)
    return [figures[device_id].outage(index) for _, device_id, index in chosen[:limit]]


def _orders_of(target: Target) -> ColumnElement[bool] | None:
    if target.scope is Scope.DEVICE or target.scope is Scope.TYPE:
        return WorkOrder.device_id.in_([d.id for d in target.devices])
    column = {
        Scope.BUILDING: WorkOrder.building_id,
        Scope.GRID: WorkOrder.grid_id,
        Scope.COMMUNITY: WorkOrder.community_id,
    }.get(target.scope)
    return None if column is None else column == target.id


def _buckets(edges: Sequence[datetime], totals: Totals) -> list[Bucket]:
    return [
        Bucket(
            start=edges[i],
            end=edges[i + 1],
            availability=(None if monitored <= 0 else 1.0 - totals.bucket_down_s[i] / monitored),
            down_s=totals.bucket_down_s[i],
        )
        for i, monitored in enumerate(totals.bucket_monitored_s)
    ]


async def uptime_report(
    session: AsyncSession,
    site: Site,
    *,
    scope: Scope,
    target_id: str | None,
    start: datetime,
    end: datetime,
    now: datetime,
    bucket: BucketSize,
) -> UptimeReport:
    """Uptime of a scope over ``[start, end)``; the part of the window after ``now`` is ignored."""
    check_window(start, end)
    target = resolve(site, scope, target_id)
    as_of = min(end, now)
    edges = (
        bucket_edges(start, as_of, bucket, ZoneInfo(site.street.timezone)) if start < as_of else []
    )
    figures, totals = await device_uptime(
        session,
        site,
        target.devices,
        start=start,
        as_of=as_of,
        every_device=target.is_street,
        edges=edges,
    )
    outages = latest_outages(figures, MAX_OUTAGES)
    if outages:
        coded = await read_codes(
            session,
            # A second either side: the bounds went through epoch seconds (milliseconds on SQLite).
            start=as_datetime(min(outage.start for outage in outages)) - CODE_READ_SLACK,
            end=as_datetime(max(outage.end for outage in outages)) + CODE_READ_SLACK,
            device_ids={outage.device_id for outage in outages},
        )
        outages = with_codes(outages, coded)
    orders = await order_times(session, start=start, as_of=as_of, narrowed_by=_orders_of(target))
    return UptimeReport(
        target=target,
        start=start,
        end=end,
        totals=totals,
        outages=outages,
        outages_total=sum(len(device.spans) for device in figures.values()),
        buckets=_buckets(edges, totals),
        mtta_s=orders.mtta_s,
        mttr_s=orders.mttr_s,
    )
