"""The uptime report of one scope: episodes and silences read in bulk, swept, rolled up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from governance.model import Device, Site
from reports.buckets import BucketSize, bucket_edges
from reports.errors import InvalidWindowError
from reports.order_history import read_orders
from reports.reading import read_episodes, read_maintenance
from reports.scope import Scope, Target, resolve
from reports.teams import team_figures
from reports.uptime import DeviceFigures, Outage, Totals, Window, compute
from storage.relational.models import WorkOrder

#: Most outages one answer lists (the longest-running list is a year street-wide); the total
#: count is always given, so a client knows when it saw only the latest ones.
MAX_OUTAGES = 1000


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
    reopen_window_s: float,
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
    outages = sorted(
        (outage for device in figures.values() for outage in device.outages),
        key=lambda outage: (-outage.start, outage.device_id),
    )
    orders = await read_orders(
        session,
        start=start,
        as_of=as_of,
        reopen_window_s=reopen_window_s,
        narrowed_by=_orders_of(target),
    )
    teams = team_figures(
        orders,
        start=start,
        as_of=as_of,
        policies={},
        monitored_s=totals.monitored_s,
        failures=totals.failures,
    )
    return UptimeReport(
        target=target,
        start=start,
        end=end,
        totals=totals,
        outages=outages[:MAX_OUTAGES],
        outages_total=len(outages),
        buckets=_buckets(edges, totals),
        mtta_s=teams.mtta_s,
        mttr_s=teams.mttr_s,
    )
