"""Clears: a device reports a fault gone. Its episode ends and its order is marked recovered
(a person still closes it); a member of an incident leaves it instead, the last one back
marking it recovered (``alerts.orders.incidents``). In the caller's transaction; set-based for
a run of clears of distinct devices, one clear being a run of one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, case
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.orders.changes import ChangeKind, OrderChange
from alerts.orders.checks import event_time
from alerts.orders.episodes import end_episodes, ended_by, open_episodes_by_key
from alerts.orders.grouping import GROUPED_CODES
from alerts.orders.incidents import leave_incident
from alerts.orders.keys import open_key
from alerts.orders.versioned import update_orders
from core.events import DeviceEvent
from storage.relational.models import Episode, WorkOrder


async def clear_fault(
    session: AsyncSession, *, event: DeviceEvent, now: datetime
) -> list[OrderChange]:
    """End the open episode and mark its order recovered; nothing when nothing was open."""
    event_time(event)
    [changes] = await clear_faults(session, events=[event], now=now)
    return changes


async def clear_faults(
    session: AsyncSession, *, events: Sequence[DeviceEvent], now: datetime
) -> list[list[OrderChange]]:
    """:func:`clear_fault` for checked clears of distinct devices, each step one statement."""
    keys = [open_key(event.device_id, event.code) for event in events]
    open_rows = await open_episodes_by_key(session, keys)
    ends: dict[int, datetime] = {}
    clearing: dict[int, int] = {}  # episode id → index of the event ending it
    for index, event in enumerate(events):
        episode, ended_at = open_rows.get(keys[index]), event_time(event)
        if episode is not None and ended_by(episode, event, ended_at):
            # A device clock running behind must not produce a negative outage.
            ends[episode.id] = max(ended_at, episode.started_at)
            clearing[episode.id] = index
    ended = await end_episodes(session, ends)
    changes: list[list[OrderChange]] = [[] for _ in events]
    # No order (yet): a held page is decided, and dropped, when its hold ends.
    linked = {episode: order for episode, order in ended.items() if order is not None}
    for episode_id in sorted(linked, key=clearing.__getitem__):
        index = clearing[episode_id]
        if events[index].code in GROUPED_CODES:
            left = await _left_incident(session, episode_id=episode_id, now=now)
            if left is not None:
                changes[index] = left
                del linked[episode_id]
    recoveries = sorted(
        (clearing[episode], order, ends[episode]) for episode, order in linked.items()
    )
    while recoveries:
        # Episodes of one incident share its order: each marks it in turn, as one at a time.
        batch, recoveries = _first_per_order(recoveries)
        recovered_at = case(
            {
                order: bindparam(None, at, type_=WorkOrder.recovered_at.type)
                for _, order, at in batch
            },
            value=WorkOrder.id,
        )
        updated = await update_orders(
            session,
            WorkOrder.id.in_([order for _, order, _ in batch]),
            WorkOrder.open_key.is_not(None),  # closed or cancelled meanwhile: nothing to mark
            values={"recovered_at": recovered_at},
            now=now,
        )
        by_id = {order.id: order for order in updated}
        for index, order_id, _ in batch:
            if order_id in by_id:
                changes[index] = [
                    OrderChange.of(by_id[order_id], kind=ChangeKind.RECOVERED, at=now)
                ]
    return changes


async def _left_incident(
    session: AsyncSession, *, episode_id: int, now: datetime
) -> list[OrderChange] | None:
    """A member of an incident is back (``leave_incident``); None when it is in none."""
    # The episode was ended by a bulk UPDATE: load it as it now is.
    episode = await session.get(Episode, episode_id, populate_existing=True)
    return None if episode is None else await leave_incident(session, episode=episode, now=now)


def _first_per_order(
    recoveries: list[tuple[int, int, datetime]],
) -> tuple[list[tuple[int, int, datetime]], list[tuple[int, int, datetime]]]:
    """The first recovery of each order, and the rest (both in event order)."""
    first: list[tuple[int, int, datetime]] = []
    rest: list[tuple[int, int, datetime]] = []
    seen: set[int] = set()
    for recovery in recoveries:
        (rest if recovery[1] in seen else first).append(recovery)
        seen.add(recovery[1])
    return first, rest
