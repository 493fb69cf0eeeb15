"""The inbox: gateways commit events as rows, `fm alerts` handles and deletes them, in order."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.handling import AlertHandler, IntakeStats
from alerts.inbox.consuming import InboxConsumer
from alerts.inbox.writing import store_in_inbox
from alerts.intake import EventIntake
from core.event_codec import decode_event
from core.events import AnyEvent
from core.settings import Settings
from gateway.state import SqlStateStore
from governance.model import Site
from storage.relational.db import create_engine, session_factory
from storage.relational.inbox_models import InboxEvent
from storage.relational.models import Episode, WorkOrder
from tests.alerts.conftest import LIGHT_RED, PIPE_YELLOW, SHED_GREEN, T0, create_schema, make_event
from tests.gateway.waiting import until

Sessions = async_sessionmaker[AsyncSession]
WAIT_S = 30.0  # a locked SQLite connection waits out its busy timeout first


def inbox_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "alerts_handoff": "inbox",
        "alerts_retry_initial_s": 0.01,
        "alerts_retry_max_s": 0.05,
        "alerts_inbox_poll_s": 0.005,
        **overrides,
    }
    return Settings.model_validate(values)


async def write(sessions: Sessions, site: Site, events: list[AnyEvent]) -> IntakeStats:
    """Events through the gateway's intake with the inbox handler, as `fm gateway` does."""
    intake = EventIntake(
        sessions=sessions, site=site, settings=inbox_settings(), handler=store_in_inbox
    )
    async with intake:
        for event in events:
            await intake.publish(event)
        await intake.settled()
    return intake.stats


async def rows(sessions: Sessions) -> list[InboxEvent]:
    async with sessions() as session:
        return list((await session.scalars(select(InboxEvent).order_by(InboxEvent.id))).all())


async def orders(sessions: Sessions) -> list[WorkOrder]:
    async with sessions() as session:
        return list((await session.scalars(select(WorkOrder).order_by(WorkOrder.id))).all())


async def episodes(sessions: Sessions) -> list[Episode]:
    async with sessions() as session:
        return list((await session.scalars(select(Episode).order_by(Episode.id))).all())


async def drain(consumer: InboxConsumer, *, handled: int) -> None:
    await until(
        lambda: (
            consumer.stats.committed + consumer.stats.rejected + consumer.stats.failed >= handled
        ),
        f"{handled} inbox events handled",
        within_s=WAIT_S,
    )


async def test_the_gateway_side_only_stores_events_in_their_order(
    sessions: Sessions, site: Site
) -> None:
    events: list[AnyEvent] = [
        make_event(LIGHT_RED, "short_circuit"),
        make_event(SHED_GREEN, "smoke"),
        make_event(LIGHT_RED, "short_circuit", active=False, ts=T0 + timedelta(minutes=5)),
    ]
    stats = await write(sessions, site, events)

    assert stats.committed == 3 and stats.opened == 0
    assert [decode_event(row.payload) for row in await rows(sessions)] == events
    assert await orders(sessions) == []  # handling is the work of fm alerts


async def test_the_alerts_side_handles_each_event_once_and_empties_the_inbox(
    sessions: Sessions, site: Site
) -> None:
    await write(
        sessions,
        site,
        [
            make_event(LIGHT_RED, "short_circuit"),
            make_event(SHED_GREEN, "smoke"),
            make_event(LIGHT_RED, "short_circuit", active=False, ts=T0 + timedelta(minutes=5)),
            make_event(SHED_GREEN, "smoke"),  # a redelivered raise: folded, not a second order
        ],
    )
    async with InboxConsumer(sessions=sessions, site=site, settings=inbox_settings()) as consumer:
        await drain(consumer, handled=4)
        assert await consumer.pending() == 0

    assert (consumer.stats.committed, consumer.stats.opened, consumer.stats.failed) == (4, 2, 0)
    by_device = {order.device_id: order for order in await orders(sessions)}
    assert set(by_device) == {LIGHT_RED, SHED_GREEN}
    assert by_device[LIGHT_RED].recovered_at is not None  # the clear came after its raise
    assert by_device[SHED_GREEN].occurrences == 1
    assert len(await episodes(sessions)) == 2
    assert await rows(sessions) == []


async def test_events_written_while_alerts_is_down_are_handled_when_it_starts(
    sessions: Sessions, site: Site
) -> None:
    await write(sessions, site, [make_event(SHED_GREEN, "smoke")])
    # fm alerts starts later (it was down or restarting): the event waited as a row.
    async with InboxConsumer(sessions=sessions, site=site, settings=inbox_settings()) as consumer:
        await drain(consumer, handled=1)
        await write(sessions, site, [make_event(PIPE_YELLOW, "leak")])
        await drain(consumer, handled=2)

    assert sorted(o.device_id for o in await orders(sessions)) == [PIPE_YELLOW, SHED_GREEN]


async def test_an_unreadable_or_failing_event_is_set_aside_and_the_rest_go_on(
    sessions: Sessions,
    site: Site,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import alerts.handling as handling

    real = handling.handle_events

    async def buggy(session: AsyncSession, **kwargs: object) -> object:
        if any(e.device_id == PIPE_YELLOW for e in kwargs["events"]):  # type: ignore[attr-defined]
            raise RuntimeError("a bug in the pipe rules")
        return await real(session, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(handling, "handle_events", buggy)
    await write(sessions, site, [make_event(LIGHT_RED, "short_circuit")])
    async with sessions.begin() as session:
        await session.execute(insert(InboxEvent).values(payload="{not json", written_at=T0))
    await write(sessions, site, [make_event(PIPE_YELLOW, "leak"), make_event(SHED_GREEN, "smoke")])

    async with InboxConsumer(sessions=sessions, site=site, settings=inbox_settings()) as consumer:
        await drain(consumer, handled=4)
        assert await consumer.pending() == 0

    assert (consumer.stats.committed, consumer.stats.failed) == (2, 2)
    assert sorted(o.device_id for o in await orders(sessions)) == [LIGHT_RED, SHED_GREEN]
    kept = await rows(sessions)  # set aside for an operator, never deleted
    assert len(kept) == 2 and all(row.failed_at is not None for row in kept)
    assert {row.error.split(":")[0] for row in kept if row.error} == {
        "EventCodecError",
        "RuntimeError",
    }
    assert "a bug in the pipe rules" in caplog.text


async def test_a_locked_sqlite_store_delays_the_inbox_but_loses_nothing(
    tmp_path: Path, site: Site
) -> None:
    path = tmp_path / "locked.sqlite3"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await create_schema(engine)
    sessions = session_factory(engine)
    await write(sessions, site, [make_event(SHED_GREEN, "smoke")] * 3)
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        settings = inbox_settings()
        async with InboxConsumer(sessions=sessions, site=site, settings=settings) as consumer:
            await until(lambda: consumer.stats.retries >= 1, "a round failed", within_s=WAIT_S)
            assert consumer.stats.committed == 0
            blocker.execute("COMMIT")
            await drain(consumer, handled=3)

        assert (consumer.stats.failed, consumer.stats.opened) == (0, 1)
        assert [(o.fault_code, o.occurrences) for o in await orders(sessions)] == [("smoke", 1)]
        assert await rows(sessions) == []
    finally:
        blocker.close()
        await engine.dispose()


async def test_two_consumers_take_turns_and_handle_every_event_once(
    sessions: Sessions, site: Site
) -> None:
    # Raise and clear the light 40 times: any reordering or double handling shows in the count
    # of episodes and in the last one being open.
    flaps: list[AnyEvent] = []
    for n in range(40):
        at = T0 + timedelta(minutes=n)
        flaps.append(make_event(LIGHT_RED, "short_circuit", active=n % 2 == 0, ts=at))
    await write(sessions, site, flaps)
    settings = inbox_settings(alerts_batch_max=3)
    first = InboxConsumer(sessions=sessions, site=site, settings=settings)
    second = InboxConsumer(sessions=sessions, site=site, settings=settings)
    async with first, second:
        await until(
            lambda: first.stats.committed + second.stats.committed >= 40,
            "every flap handled",
            within_s=WAIT_S,
        )
        assert await first.pending() == 0

    assert first.stats.committed + second.stats.committed == 40
    flapped = await episodes(sessions)
    assert len(flapped) == 20 and all(e.ended_at is not None for e in flapped)


async def test_a_gateway_restarting_counts_raises_still_in_the_inbox_as_held(
    sessions: Sessions, site: Site
) -> None:
    # Committed episodes say the shed's smoke is open; the inbox still holds its clear and a
    # raise of the light: alerts will hold the light's fault and not the shed's.
    async with sessions.begin() as session:
        await AlertHandler(site=site, settings=inbox_settings())(
            session, [make_event(SHED_GREEN, "smoke")], T0, IntakeStats()
        )
    await write(
        sessions,
        site,
        [
            make_event(SHED_GREEN, "smoke", active=False, ts=T0 + timedelta(minutes=1)),
            make_event(LIGHT_RED, "short_circuit", ts=T0 + timedelta(minutes=2)),
        ],
    )

    held = await SqlStateStore(sessions).open_faults()

    assert {d: c for d, c in held.items() if c} == {LIGHT_RED: {"short_circuit"}}


async def test_a_round_that_fails_unexpectedly_is_logged_and_the_loop_goes_on(
    sessions: Sessions,
    site: Site,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await write(sessions, site, [make_event(SHED_GREEN, "smoke")])
    consumer = InboxConsumer(sessions=sessions, site=site, settings=inbox_settings())
    real = consumer._oldest
    failures = iter([RuntimeError("a bug reading the inbox")])

    async def flaky() -> list[tuple[int, str]]:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return await real()

    monkeypatch.setattr(consumer, "_oldest", flaky)
    async with consumer:
        await drain(consumer, handled=1)

    assert consumer.stats.retries == 1 and consumer.stats.opened == 1
    assert "a bug reading the inbox" in caplog.text
    assert [o.fault_code for o in await orders(sessions)] == ["smoke"]
