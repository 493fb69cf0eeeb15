"""Residents' figures for team performance: reports collected and resolved, satisfaction.

The uptime/performance reports call :func:`satisfaction` for the grids they cover; it reads
only the residents' tables and the orders they follow.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.relational.models import WorkOrder
from storage.relational.resident_models import ResidentReport


@dataclass(slots=True)
class Satisfaction:
    """One grid's resident figures over a window."""

    reports: int = 0  # reports collected in the window
    resolved: int = 0  # of those, following an order resolved (or closed) by now
    resolved_by_tier: dict[str, int] = field(default_factory=dict)  # tier the order was at
    ratings: int = 0
    rating_sum: int = 0
    verdicts: int = 0  # reports whose reporter confirmed or rejected a fix
    confirmed: int = 0  # the reporter confirmed the fix (in the end)
    rejected: int = 0  # reports that rejected a fix at least once
    first_time_fixes: int = 0  # confirmed without any rejection

    @property
    def mean_rating(self) -> float | None:
        """The average rating, None without ratings."""
        return self.rating_sum / self.ratings if self.ratings else None

    @property
    def first_time_fix_rate(self) -> float | None:
        """Share of reports with a verdict whose first fix held, None without verdicts."""
        return self.first_time_fixes / self.verdicts if self.verdicts else None


async def satisfaction(
    session: AsyncSession, grid_ids: Collection[str], start: datetime, end: datetime
) -> Mapping[str, Satisfaction]:
    """Resident figures per grid for reports made in ``[start, end)`` (every grid asked for)."""
    figures = {grid_id: Satisfaction() for grid_id in grid_ids}
    rows = await session.execute(
        select(ResidentReport, WorkOrder.resolved_at, WorkOrder.tier)
        .join(WorkOrder, WorkOrder.id == ResidentReport.order_id)
        .where(
            ResidentReport.grid_id.in_(list(grid_ids)),
            ResidentReport.requested_at >= start,
            ResidentReport.requested_at < end,
        )
    )
    for report, resolved_at, tier in rows:
        grid = figures[report.grid_id]
        grid.reports += 1
        if resolved_at is not None:
            grid.resolved += 1
            grid.resolved_by_tier[tier] = grid.resolved_by_tier.get(tier, 0) + 1
        if report.rating is not None:
            grid.ratings += 1
            grid.rating_sum += report.rating
        if report.confirmed or report.rejections:
            grid.verdicts += 1
        if report.confirmed:
            grid.confirmed += 1
            if not report.rejections:
                grid.first_time_fixes += 1
        if report.rejections:
            grid.rejected += 1
    return figures


def combined(parts: Iterable[Satisfaction]) -> Satisfaction:
    """The figures of several grids added up (a community's or the street's)."""
    total = Satisfaction()
    for part in parts:
        total.reports += part.reports
        total.resolved += part.resolved
        for tier, count in part.resolved_by_tier.items():
            total.resolved_by_tier[tier] = total.resolved_by_tier.get(tier, 0) + count
        total.ratings += part.ratings
        total.rating_sum += part.rating_sum
        total.verdicts += part.verdicts
        total.confirmed += part.confirmed
        total.rejected += part.rejected
        total.first_time_fixes += part.first_time_fixes
    return total
