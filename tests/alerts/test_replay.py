"""Redelivered events change nothing: a gateway killed before acknowledging a message gets it
again from the broker, after the events it caused may already be committed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.orders.raising import handle_event
from core.events import DeviceEvent
from governance.model import Site
from storage.relational.models import Episode, WorkOrder
from tests.alerts.conftest import LIGHT_RED, T0, make_event

Sessions = async_sessionmaker[AsyncSession]
RAISE_1 = make_event(LIGHT_RED, "short_circuit", ts=T0)
CLEAR_1 = make_event(LIGHT_RED, "short_circuit", active=False, ts=T0 + timedelta(seconds=10))
RAISE_2 = make_event(LIGHT_RED, "short_circuit", ts=T0 + timedelta(seconds=20))


async def apply(sessions: Sessions, site: Site, *events: DeviceEvent) -> None:
    for event in events:
        async with sessions.begin() as session:
            await handle_event(session, site=site, event=event, now=event.ts)


async def state(sessions: Sessions) -> tuple[list[tuple[object, object]], list[int]]:
    """(started_at, ended_at) of every episode, and every order's occurrences."""
    async with sessions() as session:
        episodes = (await session.scalars(select(Episode).order_by(Episode.id))).all()
        orders = (await session.scalars(select(WorkOrder).order_by(WorkOrder.id))).all()
        return [(e.started_at, e.ended_at) for e in episodes], [o.occurrences for o in orders]


async def test_a_raise_delivered_again_after_its_clear_counts_nothing(
    sessions: Sessions, site: Site
) -> None:
    await apply(sessions, site, RAISE_1, CLEAR_1)
    before = await state(sessions)

    await apply(sessions, site, RAISE_1)

    assert await state(sessions) == before
    assert before == ([(RAISE_1.ts, CLEAR_1.ts)], [1])


async def test_an_old_clear_delivered_again_does_not_end_the_next_episode(
    sessions: Sessions, site: Site
) -> None:
    await apply(sessions, site, RAISE_1, CLEAR_1, RAISE_2)

    await apply(sessions, site, CLEAR_1, RAISE_2, RAISE_1)

    episodes, occurrences = await state(sessions)
    assert episodes == [(RAISE_1.ts, CLEAR_1.ts), (RAISE_2.ts, None)]
    assert occurrences == [2]


async def test_a_whole_stream_delivered_twice_is_recorded_once(
    sessions: Sessions, site: Site
) -> None:
    stream = [
        make_event(LIGHT_RED, "short_circuit", active=i % 2 == 0, ts=T0 + timedelta(seconds=i))
        for i in range(10)
    ]
    await apply(sessions, site, *stream)
    once = await state(sessions)

    await apply(sessions, site, *stream)

    assert await state(sessions) == once
    assert once[1] == [5] and len(once[0]) == 5
