"""EventIntake: concurrent replicas, the intake's clock, a store without its schema yet."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from alerts.handling import IntakeStats
from alerts.intake import EventIntake
from core.clock import ManualClock
from core.events import DeviceEvent
from governance.model import Site
from storage.relational.db import create_engine, session_factory
from storage.relational.models import Episode, WorkOrder
from tests.alerts.conftest import LIGHT_RED, PIPE_YELLOW, SHED_GREEN, T0, create_schema, make_event
from tests.alerts.test_intake import WAIT_S, intake_settings
from tests.gateway.waiting import until

Sessions = async_sessionmaker[AsyncSession]
Replicas = tuple[EventIntake, EventIntake]
#: Raises each replica receives for the same fault, e.g. QoS 1 redeliveries on shared subscriptions.
DUPLICATES_PER_REPLICA = 5
COUNTERS = ("committed", "failed", "rejected", "opened", "deduplicated", "recovered")


async def orders(sessions: Sessions) -> list[WorkOrder]:
    async with sessions() as session:
        return list((await session.scalars(select(WorkOrder).order_by(WorkOrder.id))).all())


async def episodes(sessions: Sessions) -> list[Episode]:
    async with sessions() as session:
        return list((await session.scalars(select(Episode).order_by(Episode.id))).all())


def total(*intakes: EventIntake) -> IntakeStats:
    """The event counters summed over replicas."""
    summed = IntakeStats()
    for intake in intakes:
        for name in COUNTERS:
            setattr(summed, name, getattr(summed, name) + getattr(intake.stats, name))
    return summed


@pytest.fixture
async def second_engine(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """Another replica's own engine (own connection pool) on the same database."""
    other = create_engine(engine.url.render_as_string(hide_password=False))
    try:
        yield other
    finally:
        await other.dispose()


@pytest.fixture
async def replicas(
    sessions: Sessions, second_engine: AsyncEngine, site: Site
) -> AsyncIterator[Replicas]:
    """Two running intakes, each on its own engine, over the same database."""
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(
            EventIntake(sessions=sessions, site=site, settings=intake_settings())
        )
        second = await stack.enter_async_context(
            EventIntake(
                sessions=session_factory(second_engine), site=site, settings=intake_settings()
            )
        )
        yield first, second


async def settled(replicas: Replicas) -> None:
    await asyncio.gather(*(intake.settled() for intake in replicas))


async def publish_everywhere(replicas: Replicas, event: DeviceEvent) -> None:
    """Every replica is handed the same event several times, all at once; all commit."""
    await asyncio.gather(
        *(intake.publish(event) for intake in replicas for _ in range(DUPLICATES_PER_REPLICA))
    )
    await settled(replicas)


async def test_concurrent_replicas_open_exactly_one_order(
    sessions: Sessions, replicas: Replicas
) -> None:
    raised = make_event(LIGHT_RED, "short_circuit")
    cleared = make_event(LIGHT_RED, "short_circuit", active=False, ts=T0 + timedelta(minutes=1))
    recurred = make_event(LIGHT_RED, "short_circuit", ts=T0 + timedelta(minutes=2))

    await publish_everywhere(replicas, raised)

    [order] = await orders(sessions)
    assert order.occurrences == 1
    assert len(await episodes(sessions)) == 1
    stats = total(*replicas)
    assert (stats.failed, stats.opened, stats.deduplicated) == (
        0,
        1,
        2 * DUPLICATES_PER_REPLICA - 1,
    )

    await publish_everywhere(replicas, cleared)
    await publish_everywhere(replicas, recurred)

    [order] = await orders(sessions)
    assert order.occurrences == 2
    assert order.recovered_at is None
    assert [e.ended_at is None for e in await episodes(sessions)] == [False, True]
    stats = total(*replicas)
    assert (stats.failed, stats.opened, stats.recovered) == (0, 1, 1)
    assert stats.committed == 3 * 2 * DUPLICATES_PER_REPLICA


async def test_concurrent_raises_of_different_faults_all_open(
    sessions: Sessions, replicas: Replicas
) -> None:
    events = [
        make_event(LIGHT_RED, "short_circuit"),
        make_event(LIGHT_RED, "lamp_failure"),  # not no_power: its page waits for grouping
        make_event(SHED_GREEN, "smoke"),
        make_event(PIPE_YELLOW, "burst"),
    ]

    await asyncio.gather(*(intake.publish(event) for event in events for intake in replicas))
    await settled(replicas)

    assert sorted((o.device_id, o.fault_code) for o in await orders(sessions)) == sorted(
        (e.device_id, e.code) for e in events
    )
    stats = total(*replicas)
    assert (stats.failed, stats.committed) == (0, 2 * len(events))


async def test_orders_are_stamped_with_the_intake_clock(sessions: Sessions, site: Site) -> None:
    clock = ManualClock(T0 + timedelta(seconds=3))
    async with EventIntake(
        sessions=sessions, site=site, settings=intake_settings(), clock=clock
    ) as intake:
        await intake.publish(make_event(PIPE_YELLOW, "leak"))
        await intake.wait_committed(intake.last_ticket)

    [order] = await orders(sessions)
    assert order.created_at == order.updated_at == clock()
    assert intake.stats.opened == intake.stats.committed == 1


async def test_a_store_without_its_schema_yet_is_retried_until_the_event_commits(
    database_url: str, site: Site
) -> None:
    engine = create_engine(database_url)  # no schema yet: every statement fails
    try:
        sessions = session_factory(engine)
        async with EventIntake(sessions=sessions, site=site, settings=intake_settings()) as intake:
            await intake.publish(make_event(LIGHT_RED, "short_circuit"))
            await until(
                lambda: intake.stats.retries >= 1, "a commit failed on the schema", within_s=WAIT_S
            )
            assert (intake.stats.committed, intake.stats.backlog) == (0, 1)

            await create_schema(engine)
            await intake.wait_committed(intake.last_ticket)

        assert (intake.stats.failed, intake.stats.opened, intake.stats.committed) == (0, 1, 1)
        assert len(await orders(sessions)) == 1
    finally:
        await engine.dispose()
