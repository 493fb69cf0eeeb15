"""What residents said, beside the team figures: reports collected and resolved, ratings.

The reports package computes from orders and episodes; residents' reports and ratings live in
the residents package. The API, which may read both, puts them side by side here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from governance.model import Site
from reports.summaries import Level
from residents.figures import Satisfaction, combined, satisfaction


async def resident_figures(
    session: AsyncSession, site: Site, *, level: Level, start: datetime, end: datetime
) -> dict[str, Satisfaction]:
    """Residents' figures per row id of a team report at ``level`` (grid, community, street)."""
    per_grid = await satisfaction(session, list(site.grids), start, end)
    if level is Level.GRID:
        return dict(per_grid)
    if level is Level.COMMUNITY:
        return {
            community_id: combined(
                per_grid[g] for g, grid in site.grids.items() if grid.community_id == community_id
            )
            for community_id in site.communities
        }
    return {site.street.id: combined(per_grid.values())}


def confirmed_rate(figures: Satisfaction) -> float | None:
    """Share of reporters' verdicts that confirmed the fix, None without verdicts."""
    return figures.confirmed / figures.verdicts if figures.verdicts else None
