"""Episodes: the intervals during which a fault of a device was active (uptime reads them)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Table, bindparam, case, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.orders.bulk import insert_many_skipping_conflicts
from alerts.orders.keys import open_key
from core.events import DeviceEvent
from storage.relational.models import Episode

_EPISODES = cast(Table, Episode.__table__)


async def open_episode(
    session: AsyncSession,
    *,
    event: DeviceEvent,
    started_at: datetime,
    work_order_id: int | None = None,
) -> Episode | None:
    """Start the episode of ``event``'s fault; None when one is already open."""
    opened = await open_episodes(session, [(event, started_at)], work_order_id=work_order_id)
    episode_id = opened.get(open_key(event.device_id, event.code))
    return None if episode_id is None else await session.get(Episode, episode_id)


async def open_episodes(
    session: AsyncSession,
    starts: Sequence[tuple[DeviceEvent, datetime]],
    *,
    work_order_id: int | None = None,
) -> dict[str, int]:
    """Start the episodes of faults of distinct keys, each ``(event, started_at)``, in one
    statement; the ids of those started by open key (a fault whose episode is open already is
    left out). Plain rows, not ORM objects: a storm's episodes are only linked to orders."""
    if not starts:
        return {}
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
    inserted = await insert_many_skipping_conflicts(
        session,
        _EPISODES,
        rows,
        unique=_EPISODES.c.open_key,
        returning=[_EPISODES.c.id, _EPISODES.c.open_key],
    )
    return {row.open_key: row.id for row in inserted}


async def link_episodes(session: AsyncSession, orders: Mapping[int, int]) -> None:
    """Set the work order of episodes, ``{episode id: order id}``, in one executemany."""
    if orders:
        await session.execute(
            update(_EPISODES).where(_EPISODES.c.id == bindparam("episode_id")),
            [{"episode_id": episode, "work_order_id": order} for episode, order in orders.items()],
        )


async def drop_episodes(session: AsyncSession, episode_ids: Collection[int]) -> None:
    """Delete episodes opened by mistake in this transaction (a replayed raise)."""
    if episode_ids:
        await session.execute(delete(_EPISODES).where(_EPISODES.c.id.in_(episode_ids)))


async def replayed_raises(
    session: AsyncSession, starts: Sequence[tuple[DeviceEvent, datetime]]
) -> set[int]:
    """Indexes of the raises ``starts``, each ``(event, at)``, that an ENDED episode of their
    fault already holds, in one query.

    An ended episode holds a raise that started it (``started_at == at``) or one during it
    (``started_at <= at < ended_at``): a redelivery after a crash, whose new episode would
    count the fault twice. A raise at exactly the previous clear's time is a new episode.
    """
    if not starts:
        return set()
    earliest = min(at for _, at in starts)
    latest = max(at for _, at in starts)
    # A superset of the candidates (every raise lies in [earliest, latest]); decided below.
    query = select(Episode.device_id, Episode.code, Episode.started_at, Episode.ended_at).where(
        Episode.device_id.in_({event.device_id for event, _ in starts}),
        Episode.code.in_({event.code for event, _ in starts}),
        Episode.ended_at.is_not(None),
        Episode.started_at <= latest,
        or_(Episode.ended_at > earliest, Episode.started_at >= earliest),
    )
    ended: dict[tuple[str, str], list[tuple[datetime, datetime]]] = {}
    for device_id, code, started_at, ended_at in await session.execute(query):
        if ended_at is not None:  # always, by the query: narrows the type
            ended.setdefault((device_id, code), []).append((started_at, ended_at))
    return {
        index
        for index, (event, at) in enumerate(starts)
        if any(
            started_at <= at and (at < ended_at or started_at == at)
            for started_at, ended_at in ended.get((event.device_id, event.code), ())
        )
    }


@dataclass(frozen=True, slots=True)
class OpenEpisode:
    """What a clear needs of the episode it may end."""

    id: int
    source: str
    started_at: datetime


async def open_episodes_by_key(
    session: AsyncSession, keys: Collection[str]
) -> dict[str, OpenEpisode]:
    """The open episodes holding ``keys``, by open key (one query)."""
    if not keys:
        return {}
    columns = _EPISODES.c
    query = select(columns.open_key, columns.id, columns.source, columns.started_at).where(
        columns.open_key.in_(keys)
    )
    return {
        key: OpenEpisode(episode_id, source, started_at)
        for key, episode_id, source, started_at in await session.execute(query)
    }


def ended_by(episode: OpenEpisode, event: DeviceEvent, ended_at: datetime) -> bool:
    """An episode may be ended by ``event`` unless the clear predates the raise on the same
    clock (same source): that is an old clear delivered again, not the end of this episode."""
    return episode.source != event.source.value or episode.started_at <= ended_at


async def end_episodes(
    session: AsyncSession, ends: Mapping[int, datetime]
) -> dict[int, int | None]:
    """End the episodes ``{id: ended_at}`` that are still open (one UPDATE); the work order of
    each one this call ended, by episode id.

    Of two replicas ending an episode at once, only one still matches its open key.
    """
    if not ends:
        return {}
    columns = _EPISODES.c
    ended_at = case(
        {episode: bindparam(None, at, type_=columns.ended_at.type) for episode, at in ends.items()},
        value=columns.id,
    )
    statement = (
        update(_EPISODES)
        .where(columns.id.in_(ends), columns.open_key.is_not(None))
        .values(ended_at=ended_at, open_key=None)
        .returning(columns.id, columns.work_order_id)
    )
    return {row.id: row.work_order_id for row in await session.execute(statement)}


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
