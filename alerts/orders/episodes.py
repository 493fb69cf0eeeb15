"""Episodes: the intervals during which a fault of a device was active (uptime reads them)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.orders.keys import insert_all_unless_open, open_key
from core.events import DeviceEvent
from storage.relational.models import Episode


async def open_episode(
    session: AsyncSession,
    *,
    event: DeviceEvent,
    started_at: datetime,
    work_order_id: int | None = None,
) -> Episode | None:
    """Start the episode of ``event``'s fault; None when one is already open."""
    opened = await open_episodes(session, [(event, started_at)], work_order_id=work_order_id)
    return opened.get(open_key(event.device_id, event.code))


async def open_episodes(
    session: AsyncSession,
    starts: Sequence[tuple[DeviceEvent, datetime]],
    *,
    work_order_id: int | None = None,
) -> dict[str, Episode]:
    """Start the episodes of faults of distinct keys, each ``(event, started_at)``, in one
    statement; those started by open key (a fault whose episode is open already is left out)."""
    rows = [
        {
            "device_id": event.device_id,
            "code": event.code,
            "severity": event.severity.value,
            "source": event.source.value,
            "detail": event.detail,
            "started_at": started_at,
            "open_key": open_key(event.device_id, event.code),
            "work_order_id": work_order_id,
        }
        for event, started_at in starts
    ]
    return await insert_all_unless_open(session, Episode, rows)


async def last_ends(
    session: AsyncSession, faults: Collection[tuple[str, str]]
) -> dict[tuple[str, str], datetime]:
    """When the last ended episode of each ``(device_id, code)`` ended (faults never ended are
    left out), in one query.

    A raise at or before that end is a redelivery (the broker sends a message again after a
    crash) or a raise arriving after its own clear: opening another episode would count the
    same fault twice.
    """
    if not faults:
        return {}
    query = (
        select(Episode.device_id, Episode.code, func.max(Episode.ended_at))
        .where(
            Episode.device_id.in_({device for device, _ in faults}),
            Episode.code.in_({code for _, code in faults}),
            Episode.ended_at.is_not(None),
        )
        .group_by(Episode.device_id, Episode.code)
    )
    wanted = set(faults)
    return {
        (device, code): ended
        for device, code, ended in (await session.execute(query)).all()
        if (device, code) in wanted and ended is not None
    }


def not_before_its_start(event: DeviceEvent, ended_at: datetime) -> ColumnElement[bool]:
    """An episode may be ended by ``event`` unless the clear predates the raise on the same
    clock (same source): that is an old clear delivered again, not the end of this episode."""
    return or_(Episode.source != event.source.value, Episode.started_at <= ended_at)


async def end_episode(
    session: AsyncSession, *where: ColumnElement[bool], ended_at: datetime
) -> Episode | None:
    """End the open episode matching ``where``; None when none was open.

    One atomic UPDATE: of two replicas ending it at once, only one matches the open key.
    """
    ended = update(Episode).where(*where).values(ended_at=ended_at, open_key=None)
    episode = await session.scalar(ended.returning(Episode))
    if (
        episode is not None
        and episode.ended_at is not None
        and episode.ended_at < episode.started_at
    ):
        # A device clock running behind must not produce a negative outage.
        episode.ended_at = episode.started_at
    await session.flush()
    return episode
