"""AlertsSink: one transaction per event, concurrent replicas, bad events never escape."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from alerts.sink import AlertsSink, SinkStats
from core.clock import ManualClock
from core.events import DeviceEvent
from governance.model import Site
from storage.relational.db import create_engine, session_factory
from storage.relational.models import Episode, WorkOrder
from tests.alerts.conftest import LIGHT_RED, PIPE_YELLOW, SHED_GREEN, T0, create_schema, make_event

Sessions = async_sessionmaker[AsyncSession]
#: Raises each replica receives for the same fault, e.g. QoS 1 redeliveries on shared subscriptions.
DUPLICATES_PER_REPLICA = 5


async def orders(sessions: Sessions) -> list[WorkOrder]:
    async with sessions() as session:
        return list((await session.scalars(select(WorkOrder).order_by(WorkOrder.id))).all())


async def episodes(sessions: Sessions) -> list[Episode]:
    async with sessions() as session:
        return list((await session.scalars(select(Episode).order_by(Episode.id))).all())


def total(*sinks: AlertsSink) -> SinkStats:
    """Counters summed over replicas."""
    summed = SinkStats()
    for sink in sinks:
        for name in SinkStats.__slots__:
            setattr(summed, name, getattr(summed, name) + getattr(sink.stats, name))
    return summed


@pytest.fixture
async def second_engine(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """Another replica's own engine (own connection pool) on the same database."""
    other = create_engine(engine.url.render_as_string(hide_password=False))
    try:
        yield other
    finally:
        await other.dispose()


async def publish_everywhere(sinks: tuple[AlertsSink, AlertsSink], event: DeviceEvent) -> None:
    """Every replica handles the same event, all at once."""
    await asyncio.gather(
        *(sink.publish(event) for sink in sinks for _ in range(DUPLICATES_PER_REPLICA))
    )


async def test_concurrent_replicas_open_exactly_one_order(
    sessions: Sessions, second_engine: AsyncEngine, site: Site
) -> None:
    replicas = (
        AlertsSink(sessions=sessions, site=site),
        AlertsSink(sessions=session_factory(second_engine), site=site),
    )
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


async def test_concurrent_raises_of_different_faults_all_open(
    sessions: Sessions, second_engine: AsyncEngine, site: Site
) -> None:
    replicas = (
        AlertsSink(sessions=sessions, site=site),
        AlertsSink(sessions=session_factory(second_engine), site=site),
    )
    events = [
        make_event(LIGHT_RED, "short_circuit"),
        make_event(LIGHT_RED, "no_power"),
        make_event(SHED_GREEN, "smoke"),
        make_event(PIPE_YELLOW, "burst"),
    ]

    await asyncio.gather(*(sink.publish(event) for event in events for sink in replicas))

    assert sorted((o.device_id, o.fault_code) for o in await orders(sessions)) == sorted(
        (e.device_id, e.code) for e in events
    )
    assert total(*replicas).failed == 0


async def test_orders_are_stamped_with_the_sink_clock(sessions: Sessions, site: Site) -> None:
    clock = ManualClock(T0 + timedelta(seconds=3))
    sink = AlertsSink(sessions=sessions, site=site, clock=clock)

    await sink.publish(make_event(PIPE_YELLOW, "leak"))

    [order] = await orders(sessions)
    assert order.created_at == order.updated_at == clock()
    assert sink.stats.opened == sink.stats.handled == 1


async def test_unknown_device_is_rejected_and_the_next_event_handled(
    sessions: Sessions, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    sink = AlertsSink(sessions=sessions, site=site)
    stranger = make_event(LIGHT_RED, "short_circuit")
    stranger = DeviceEvent(
        "no-such-device", "short_circuit", True, stranger.severity, T0, stranger.source
    )

    with caplog.at_level(logging.WARNING, logger="alerts.sink"):
        await sink.publish(stranger)
    await sink.publish(make_event(LIGHT_RED, "short_circuit"))

    assert "no-such-device" in caplog.text
    assert (sink.stats.rejected, sink.stats.failed, sink.stats.opened) == (1, 0, 1)
    assert [o.device_id for o in await orders(sessions)] == [LIGHT_RED]


async def test_a_bad_event_is_logged_and_counted_and_changes_nothing(
    sessions: Sessions, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    sink = AlertsSink(sessions=sessions, site=site)
    naive = make_event(LIGHT_RED, "short_circuit", ts=T0.replace(tzinfo=None))

    with caplog.at_level(logging.ERROR, logger="alerts.sink"):
        await sink.publish(naive)
    await sink.publish(make_event(SHED_GREEN, "smoke"))

    assert sink.stats.failed == 1
    assert "light-red" in caplog.text and "time zone" in caplog.text
    assert [o.device_id for o in await orders(sessions)] == [SHED_GREEN]
    assert [e.device_id for e in await episodes(sessions)] == [SHED_GREEN]


async def test_a_database_error_is_survived(
    database_url: str, site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(database_url)  # no schema yet: every statement fails
    try:
        sessions = session_factory(engine)
        sink = AlertsSink(sessions=sessions, site=site)

        with caplog.at_level(logging.ERROR, logger="alerts.sink"):
            await sink.publish(make_event(LIGHT_RED, "short_circuit"))
        assert sink.stats.failed == 1
        assert "failed to handle" in caplog.text and "short_circuit" in caplog.text

        await create_schema(engine)
        await sink.publish(make_event(LIGHT_RED, "short_circuit"))

        assert (sink.stats.failed, sink.stats.opened, sink.stats.handled) == (1, 1, 1)
        assert len(await orders(sessions)) == 1
    finally:
        await engine.dispose()
