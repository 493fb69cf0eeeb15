"""EventIntake: at-least-once hand-off, group commit in order, backpressure, outage retries."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.intake import EventIntake
from core.settings import Settings
from governance.model import Site
from storage.relational.db import create_engine, session_factory
from storage.relational.models import Episode, WorkOrder
from tests.alerts.conftest import LIGHT_RED, PIPE_YELLOW, SHED_GREEN, T0, create_schema, make_event
from tests.gateway.waiting import until
from tests.servers.postgres import postgres_process

Sessions = async_sessionmaker[AsyncSession]
WAIT_S = 30.0  # a locked SQLite connection waits out its busy timeout first


def intake_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "alerts_retry_initial_s": 0.01,
        "alerts_retry_max_s": 0.05,
        **overrides,
    }
    return Settings.model_validate(values)


async def orders(sessions: Sessions) -> list[WorkOrder]:
    async with sessions() as session:
        return list((await session.scalars(select(WorkOrder).order_by(WorkOrder.id))).all())


async def test_events_commit_in_batches_in_order_and_call_back(
    sessions: Sessions, site: Site
) -> None:
    committed: list[str] = []
    async with EventIntake(sessions=sessions, site=site, settings=intake_settings()) as intake:
        # A raise and its clear in the same batch: the order must see them in that order.
        for device, code in ((LIGHT_RED, "short_circuit"), (SHED_GREEN, "smoke")):
            await intake.publish(make_event(device, code))
        await intake.publish(
            make_event(LIGHT_RED, "short_circuit", active=False, ts=T0.replace(minute=5)),
            on_committed=lambda: committed.append("clear"),
        )
        await intake.wait_committed(intake.last_ticket)

    assert committed == ["clear"]
    assert intake.stats.committed == 3 and intake.stats.failed == 0
    assert intake.stats.batches <= 3 and intake.stats.backlog == 0
    by_device = {order.device_id: order for order in await orders(sessions)}
    assert set(by_device) == {LIGHT_RED, SHED_GREEN}
    assert by_device[LIGHT_RED].recovered_at is not None
    assert by_device[SHED_GREEN].recovered_at is None


async def test_a_storm_commits_in_few_transactions_with_one_order_each(
    sessions: Sessions, site: Site
) -> None:
    events = [make_event(LIGHT_RED, "short_circuit", ts=T0)] * 50 + [
        make_event(device, code) for device, code in ((SHED_GREEN, "smoke"), (PIPE_YELLOW, "leak"))
    ]
    async with EventIntake(sessions=sessions, site=site, settings=intake_settings()) as intake:
        for event in events:
            await intake.publish(event)
        await intake.wait_committed(intake.last_ticket)

    assert intake.stats.committed == len(events)
    assert intake.stats.opened == 3 and intake.stats.deduplicated == len(events) - 3
    assert intake.stats.batches < len(events)
    assert len(await orders(sessions)) == 3


async def test_an_unknown_device_is_rejected_without_spoiling_its_batch(
    sessions: Sessions, site: Site
) -> None:
    async with EventIntake(sessions=sessions, site=site, settings=intake_settings()) as intake:
        stranger = make_event(LIGHT_RED, "short_circuit")
        await intake.publish(
            type(stranger)(
                "no-such-device", "offline", True, stranger.severity, T0, stranger.source
            )
        )
        await intake.publish(make_event(SHED_GREEN, "smoke"))
        await intake.wait_committed(intake.last_ticket)

    assert (intake.stats.rejected, intake.stats.committed, intake.stats.failed) == (1, 1, 0)
    assert [order.device_id for order in await orders(sessions)] == [SHED_GREEN]


async def test_a_naive_timestamp_is_rejected_and_the_rest_commits(
    sessions: Sessions, site: Site
) -> None:
    async with EventIntake(sessions=sessions, site=site, settings=intake_settings()) as intake:
        await intake.publish(make_event(LIGHT_RED, "short_circuit", ts=T0.replace(tzinfo=None)))
        await intake.publish(make_event(SHED_GREEN, "smoke"))
        await intake.wait_committed(intake.last_ticket)

    assert (intake.stats.rejected, intake.stats.committed) == (1, 1)
    assert [order.device_id for order in await orders(sessions)] == [SHED_GREEN]


async def test_a_locked_sqlite_store_delays_the_smoke_order_but_never_loses_it(
    tmp_path: Path, site: Site
) -> None:
    path = tmp_path / "locked.sqlite3"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await create_schema(engine)
    sessions = session_factory(engine)
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        async with EventIntake(sessions=sessions, site=site, settings=intake_settings()) as intake:
            for _ in range(3):  # the shed keeps reporting smoke while the store is locked
                await intake.publish(make_event(SHED_GREEN, "smoke"))
            await until(
                lambda: intake.stats.retries >= 1, "a commit failed on the lock", within_s=WAIT_S
            )
            assert intake.stats.committed == 0 and intake.stats.backlog == 3
            blocker.execute("COMMIT")
            await intake.wait_committed(intake.last_ticket)

        assert intake.stats.failed == 0 and intake.stats.committed == 3
        assert intake.stats.opened == 1
        smoke = await orders(sessions)
        assert [(o.device_id, o.fault_code, o.occurrences) for o in smoke] == [
            (SHED_GREEN, "smoke", 1)
        ]
        async with sessions() as session:
            assert len((await session.scalars(select(Episode))).all()) == 1
    finally:
        blocker.close()
        await engine.dispose()


async def test_a_full_queue_holds_the_publisher_instead_of_dropping(
    tmp_path: Path, site: Site
) -> None:
    path = tmp_path / "full.sqlite3"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await create_schema(engine)
    sessions = session_factory(engine)
    blocker = sqlite3.connect(path, isolation_level=None)
    settings = intake_settings(alerts_queue_max=2, alerts_batch_max=1)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        async with EventIntake(sessions=sessions, site=site, settings=settings) as intake:
            await intake.publish(make_event(LIGHT_RED, "short_circuit"))
            await until(
                lambda: intake.stats.retries >= 1, "the first batch is stuck", within_s=WAIT_S
            )
            await intake.publish(make_event(SHED_GREEN, "smoke"))
            await intake.publish(make_event(PIPE_YELLOW, "leak"))
            held = asyncio.create_task(intake.publish(make_event(SHED_GREEN, "overheat")))
            done, _ = await asyncio.wait({held}, timeout=0.2)
            assert not done, "the publisher must wait while the queue is full"
            blocker.execute("COMMIT")
            await held
            await intake.wait_committed(intake.last_ticket)

        assert intake.stats.committed == 4 and intake.stats.opened == 4
    finally:
        blocker.close()
        await engine.dispose()


async def test_a_bug_in_one_event_is_isolated_counted_and_logged(
    sessions: Sessions,
    site: Site,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import alerts.handling as intake_module

    real = intake_module.handle_events

    async def buggy(session: AsyncSession, **kwargs: object) -> object:
        events = kwargs["events"]
        if any(getattr(event, "device_id", None) == PIPE_YELLOW for event in events):  # type: ignore[attr-defined]
            raise RuntimeError("a bug in the pipe rules")
        return await real(session, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(intake_module, "handle_events", buggy)
    async with EventIntake(sessions=sessions, site=site, settings=intake_settings()) as intake:
        for device, code in ((LIGHT_RED, "short_circuit"), (PIPE_YELLOW, "leak")):
            await intake.publish(make_event(device, code))
        await intake.publish(make_event(SHED_GREEN, "smoke"))
        await intake.wait_committed(intake.last_ticket)

    assert (intake.stats.failed, intake.stats.committed) == (1, 2)
    assert "a bug in the pipe rules" in caplog.text
    assert sorted(o.device_id for o in await orders(sessions)) == [LIGHT_RED, SHED_GREEN]


@pytest.mark.integration
async def test_a_stopped_postgresql_delays_the_smoke_order_but_never_loses_it(site: Site) -> None:
    with postgres_process() as cluster:
        engine = create_engine(cluster.server.create_database("intake"))
        try:
            await create_schema(engine)
            sessions = session_factory(engine)
            async with EventIntake(
                sessions=sessions, site=site, settings=intake_settings()
            ) as intake:
                await intake.publish(make_event(LIGHT_RED, "short_circuit"))
                await intake.wait_committed(intake.last_ticket)  # the pool holds a connection
                cluster.stop()
                for _ in range(3):
                    await intake.publish(make_event(SHED_GREEN, "smoke"))
                await until(
                    lambda: intake.stats.retries >= 2,
                    "commits failed while stopped",
                    within_s=WAIT_S,
                )
                assert intake.stats.committed == 1 and intake.stats.backlog == 3
                cluster.start()
                await intake.wait_committed(intake.last_ticket)

            assert (intake.stats.failed, intake.stats.committed, intake.stats.opened) == (0, 4, 2)
            smoke = [o for o in await orders(sessions) if o.fault_code == "smoke"]
            assert [(o.device_id, o.occurrences) for o in smoke] == [(SHED_GREEN, 1)]
        finally:
            await engine.dispose()
