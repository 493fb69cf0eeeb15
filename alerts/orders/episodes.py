"""Episodes: the intervals during which a fault of a device was active (uptime reads them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.orders.keys import insert_unless_open, open_key
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
    return await insert_unless_open(
        session,
        Episode,
        {
            "device_id": event.device_id,
            "code": event.code,
            "severity": event.severity.value,
            "source": event.source.value,
            "detail": event.detail,
            "started_at": started_at,
            "open_key": open_key(event.device_id, event.code),
            "work_order_id": work_order_id,
        },
    )


async def already_recorded(session: AsyncSession, *, event: DeviceEvent, at: datetime) -> bool:
    """True when a raise at ``at`` is one an ended episode of that fault already holds.

    That is a redelivery (the broker sends a message again after a crash): the raise that
    started the episode, or one during it. Opening another episode would count the fault twice.
    """
    found = await session.scalar(
        select(Episode.id)
        .where(
            Episode.device_id == event.device_id,
            Episode.code == event.code,
            Episode.ended_at.is_not(None),
            Episode.started_at <= at,
            or_(Episode.ended_at > at, Episode.started_at == at),
        )
        .limit(1)
    )
    return found is not None


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
