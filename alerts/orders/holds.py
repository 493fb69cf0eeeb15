"""Holding the page of a grouped raise: the episode is recorded at once, the order waits.

"State is shown at once; only pages wait": an ``offline`` / ``no_power`` raise opens its episode
right away (the device shows offline, uptime counts from the raise). If an incident covering the
device is open, the device joins it at once; otherwise the episode's ``page_due_at`` is set one
``group_wait_s`` ahead and ``alerts.orders.held_pages`` decides it then (an incident, the
device's own order, or nothing when the episode ended meanwhile).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from alerts.orders.changes import OrderChange
from alerts.orders.grouping import GroupingPolicy
from alerts.orders.incidents import covering_incident, join_incident
from governance.model import Site
from storage.relational.models import Episode


async def hold_page(
    session: AsyncSession,
    *,
    site: Site,
    grouping: GroupingPolicy,
    episode: Episode,
    now: datetime,
) -> list[OrderChange]:
    """Join the open incident covering the episode's device, else hold its page."""
    covering = await covering_incident(
        session, site=site, device_id=episode.device_id, code=episode.code
    )
    if covering is not None:
        order, group_id = covering
        return await join_incident(
            session, order=order, group_id=group_id, episode=episode, now=now
        )
    episode.page_due_at = now + grouping.hold
    await session.flush()
    return []
