"""A fault recurring after its order was closed: reopened within the window, a new order after
it, never for a cancelled false alarm; time is driven by a ManualClock."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.escalation.sla import DEFAULT_POLICIES, seed_default_policies
from alerts.intake import EventIntake
from alerts.orders.changes import ChangeKind
from alerts.orders.lifecycle import SYSTEM_ACTOR, Action, history, transition
from alerts.orders.raising import DEFAULT_REOPEN_WINDOW, clear_fault, handle_event, raise_fault
from core.clock import ManualClock
from core.settings import Settings
from governance.model import Site
from sensors.catalogue import Severity
from storage.relational.models import OrderStatus, WorkOrder
from tests.alerts.conftest import LIGHT_RED, T0, make_event

Sessions = async_sessionmaker[AsyncSession]
CODE = "short_circuit"  # major
WINDOW = timedelta(hours=6)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


async def fault(
    sessions: Sessions, site: Site, clock: ManualClock, *, window: timedelta = WINDOW
) -> tuple[int, ChangeKind] | None:
    """The fault is seen (raise) and goes away a minute later (clear); the order it touched."""
    now = clock()
    async with sessions.begin() as session:
        changes = await raise_fault(
            session,
            site=site,
            event=make_event(LIGHT_RED, CODE, ts=now),
            now=now,
            reopen_window=window,
        )
    clock.advance(60)
    async with sessions.begin() as session:
        await clear_fault(
            session, event=make_event(LIGHT_RED, CODE, active=False, ts=clock()), now=clock()
        )
    return (changes[0].order_id, changes[0].kind) if changes else None


async def finish(
    sessions: Sessions, site: Site, clock: ManualClock, order_id: int, last: Action
) -> None:
    """Resolve the order, then close or cancel it (``last``) with a note."""
    async with sessions.begin() as session:
        order = await session.get_one(WorkOrder, order_id)
        for action in (Action.RESOLVE, last):
            order = await transition(
                session,
                site=site,
                order_id=order_id,
                action=action,
                version=order.version,
                actor="admin",
                note="replaced the fuse" if last is Action.CLOSE else "test switch, not a fault",
                now=clock(),
            )


async def orders(sessions: Sessions) -> list[WorkOrder]:
    async with sessions() as session:
        return list((await session.scalars(select(WorkOrder).order_by(WorkOrder.id))).all())


async def test_recurrence_within_the_window_reopens_the_closed_order(
    sessions: Sessions, site: Site, clock: ManualClock
) -> None:
    first = await fault(sessions, site, clock)
    assert first is not None
    order_id = first[0]
    await finish(sessions, site, clock, order_id, Action.CLOSE)
    closed_at = clock()
    clock.advance(WINDOW.total_seconds())  # the boundary itself still reopens

    again = await fault(sessions, site, clock)

    assert again == (order_id, ChangeKind.REOPENED)
    [order] = await orders(sessions)
    assert (order.status, order.reopen_count, order.occurrences) == (OrderStatus.OPEN, 1, 2)
    assert order.open_key == f"{LIGHT_RED}:{CODE}"
    assert (order.closed_at, order.resolved_at, order.acknowledged_at) == (None, None, None)
    async with sessions() as session:
        audit = await history(session, order_id=order_id)
    assert [(t.action, t.from_status, t.to_status) for t in audit] == [
        ("resolve", "open", "resolved"),
        ("close", "resolved", "closed"),
        ("reopen", "closed", "open"),
    ]
    assert audit[1].at == closed_at  # when it was closed stays in the history
    assert audit[2].actor == SYSTEM_ACTOR and "after the order was closed" in audit[2].note


async def test_after_the_window_a_new_order_opens(
    sessions: Sessions, site: Site, clock: ManualClock
) -> None:
    first = await fault(sessions, site, clock)
    assert first is not None
    await finish(sessions, site, clock, first[0], Action.CLOSE)
    clock.advance(WINDOW.total_seconds() + 1)

    again = await fault(sessions, site, clock)

    assert again is not None and again[1] is ChangeKind.OPENED and again[0] != first[0]
    assert [(o.status, o.reopen_count) for o in await orders(sessions)] == [
        (OrderStatus.CLOSED, 0),
        (OrderStatus.OPEN, 0),
    ]


@pytest.mark.parametrize("window", [WINDOW, timedelta(0)])
async def test_a_cancelled_order_is_never_reopened(
    sessions: Sessions, site: Site, clock: ManualClock, window: timedelta
) -> None:
    first = await fault(sessions, site, clock, window=window)
    assert first is not None
    await finish(sessions, site, clock, first[0], Action.CANCEL)
    clock.advance(60)

    again = await fault(sessions, site, clock, window=window)

    assert again is not None and again[1] is ChangeKind.OPENED
    assert [o.status for o in await orders(sessions)] == [OrderStatus.CANCELLED, OrderStatus.OPEN]


async def test_a_zero_window_never_reopens(
    sessions: Sessions, site: Site, clock: ManualClock
) -> None:
    first = await fault(sessions, site, clock, window=timedelta(0))
    assert first is not None
    await finish(sessions, site, clock, first[0], Action.CLOSE)
    again = await fault(sessions, site, clock, window=timedelta(0))
    assert again is not None and again[1] is ChangeKind.OPENED


async def test_only_the_latest_order_can_reopen(
    sessions: Sessions, site: Site, clock: ManualClock
) -> None:
    """Closed, then a false alarm cancelled: the older closed order stays closed."""
    first = await fault(sessions, site, clock)
    assert first is not None
    await finish(sessions, site, clock, first[0], Action.CLOSE)
    second = await fault(sessions, site, clock)  # reopens the first …
    assert second == (first[0], ChangeKind.REOPENED)
    await finish(sessions, site, clock, first[0], Action.CANCEL)  # … which is then cancelled

    third = await fault(sessions, site, clock)

    assert third is not None and third[1] is ChangeKind.OPENED and third[0] != first[0]


async def test_recurrence_of_a_resolved_order_is_audited_and_counted(
    sessions: Sessions, site: Site, clock: ManualClock
) -> None:
    first = await fault(sessions, site, clock)
    assert first is not None
    async with sessions.begin() as session:
        recovered = await session.get_one(WorkOrder, first[0])  # the clear bumped its version
        await transition(
            session,
            site=site,
            order_id=first[0],
            action=Action.RESOLVE,
            version=recovered.version,
            actor="admin",
            now=clock(),
        )
    again = await fault(sessions, site, clock)
    assert again == (first[0], ChangeKind.REOPENED)
    [order] = await orders(sessions)
    assert (order.status, order.reopen_count, order.acknowledged_at) == ("open", 1, None)
    async with sessions() as session:
        audit = await history(session, order_id=first[0])
    assert [(t.action, t.actor, t.to_status, t.version) for t in audit] == [
        ("resolve", "admin", "resolved", 3),
        ("reopen", SYSTEM_ACTOR, "open", 4),  # the clear a minute later made it 5
    ]


async def test_a_reopened_order_restarts_its_clock_and_can_be_worked_again(
    sessions: Sessions, site: Site, clock: ManualClock
) -> None:
    """Through the production path (flows.handle_event with the default window)."""
    async with sessions.begin() as session:
        await seed_default_policies(session, now=T0)
    first = await fault(sessions, site, clock)
    assert first is not None
    await finish(sessions, site, clock, first[0], Action.CLOSE)
    clock.advance(DEFAULT_REOPEN_WINDOW.total_seconds() / 2)

    async with sessions.begin() as session:
        [change] = await handle_event(
            session, site=site, event=make_event(LIGHT_RED, CODE, ts=clock()), now=clock()
        )

    assert (change.kind, change.order_id, change.status) == (ChangeKind.REOPENED, first[0], "open")
    [order] = await orders(sessions)
    major = DEFAULT_POLICIES[Severity.MAJOR]
    assert order.ack_due_at == clock() + timedelta(seconds=major.ack_s)
    assert order.resolve_due_at == clock() + timedelta(seconds=major.resolve_s)
    async with sessions.begin() as session:
        acked = await transition(
            session,
            site=site,
            order_id=order.id,
            action=Action.ACK,
            version=order.version,
            actor="admin",
            now=clock(),
        )
    assert (acked.status, acked.acknowledged_at) == ("acknowledged", clock())


async def test_concurrent_recurrences_reopen_once(
    sessions: Sessions, site: Site, clock: ManualClock
) -> None:
    """Two replicas see the same recurrence: one reopens, the other is deduplicated."""
    first = await fault(sessions, site, clock)
    assert first is not None
    await finish(sessions, site, clock, first[0], Action.CLOSE)
    clock.advance(60)

    async def replica() -> ChangeKind | None:
        async with sessions.begin() as session:
            changes = await raise_fault(
                session,
                site=site,
                event=make_event(LIGHT_RED, CODE, ts=clock()),
                now=clock(),
                reopen_window=WINDOW,
            )
        return changes[0].kind if changes else None

    results = await asyncio.gather(replica(), replica())

    assert sorted(results, key=str) == [None, ChangeKind.REOPENED]
    [order] = await orders(sessions)
    assert (order.status, order.reopen_count, order.occurrences) == ("open", 1, 2)


@pytest.mark.parametrize(("window", "expected"), [(WINDOW, "reopened"), (timedelta(0), "new")])
async def test_the_intake_applies_its_configured_window(
    sessions: Sessions, site: Site, clock: ManualClock, window: timedelta, expected: str
) -> None:
    settings = Settings(reopen_window_s=window.total_seconds())
    async with EventIntake(sessions=sessions, site=site, settings=settings, clock=clock) as intake:
        await intake.publish(make_event(LIGHT_RED, CODE, ts=clock()))
        await intake.wait_committed(intake.last_ticket)
        clock.advance(60)
        await intake.publish(make_event(LIGHT_RED, CODE, active=False, ts=clock()))
        await intake.wait_committed(intake.last_ticket)
        (first,) = await orders(sessions)
        await finish(sessions, site, clock, first.id, Action.CLOSE)
        clock.advance(60)

        await intake.publish(make_event(LIGHT_RED, CODE, ts=clock()))
        await intake.wait_committed(intake.last_ticket)

    after = await orders(sessions)
    assert len(after) == (1 if expected == "reopened" else 2)
    assert (intake.stats.failed, intake.stats.committed) == (0, 3)
