"""Holding the page of a grouped raise: the episode is recorded at once, the order waits.

"State is shown at once; only pages wait": an ``offline`` / ``no_power`` raise opens its episode
right away (the device shows offline, uptime counts from the raise). If an incident covering the
device is open, the device joins it at once; otherwise the episode's ``page_due_at`` is set one
``group_wait_s`` ahead and ``alerts.orders.held_pages`` decides it then (an incident, the
device's own order, or nothing when the episode ended meanwhile).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, update
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.orders.changes import OrderChange
from alerts.orders.grouping import GroupingPolicy
from alerts.orders.incidents import covering_incidents, join_incident
from core.events import DeviceEvent
from governance.model import Site
from storage.relational.models import Episode

_EPISODES = cast(Table, Episode.__table__)


async def hold_pages(
    session: AsyncSession,
    *,
    site: Site,
    grouping: GroupingPolicy,
    held: Sequence[tuple[int, DeviceEvent]],
    now: datetime,
) -> list[list[OrderChange]]:
    """Per just-opened episode ``(episode id, its raise)``: join the open incident covering its
    device (the changes that caused), else hold its page (no changes). One query for the
    covering incidents and one UPDATE for all the held pages."""
    faults = [(event.device_id, event.code) for _, event in held]
    covering = await covering_incidents(session, site=site, faults=faults)
    changes: list[list[OrderChange]] = []
    waiting: list[int] = []
    for (episode_id, _), incident in zip(held, covering, strict=True):
        if incident is None:
            waiting.append(episode_id)
            changes.append([])
            continue
        order, group_id = incident
        episode = await session.get(Episode, episode_id, populate_existing=True)
        if episode is None:  # inserted by this transaction a moment ago
            raise LookupError(f"episode {episode_id} vanished inside its own transaction")
        changes.append(
            await join_incident(session, order=order, group_id=group_id, episode=episode, now=now)
        )
    if waiting:
        await session.execute(
            update(_EPISODES)
            .where(_EPISODES.c.id.in_(waiting))
            .values(page_due_at=now + grouping.hold)
        )
    return changes
