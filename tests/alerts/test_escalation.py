"""Escalation sweep driven by a ManualClock: tiers, reminders, acknowledgement, hand back, races."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from alerts.errors import HandBackError, StaleOrderError
from alerts.escalation.sla import DEFAULT_POLICIES
from alerts.escalation.sweep import hand_back
from alerts.escalation.sweeper import EscalationSweeper
from alerts.orders.changes import ChangeKind
from core.clock import ManualClock
from core.settings import Settings
from governance.model import Site, Tier
from sensors.catalogue import Severity
from storage.relational.db import create_engine, session_factory
from storage.relational.models import OrderStatus, WorkOrder
from tests.alerts.conftest import LIGHT_RED, PIPE_YELLOW, T0
from tests.alerts.escalation_support import (
    Recorder,
    install_recorder,
    load_order,
    raise_fault_at,
    seed_policies,
)

Sessions = async_sessionmaker[AsyncSession]
MINOR = DEFAULT_POLICIES[Severity.MINOR]


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    return install_recorder(monkeypatch)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


def make_sweeper(
    sessions: Sessions, site: Site, clock: ManualClock, **settings: Any
) -> EscalationSweeper:
    return EscalationSweeper(
        sessions=sessions, site=site, settings=Settings(**settings), clock=clock
    )


async def acknowledge(sessions: Sessions, order_id: int, at: object) -> None:
    """What the lifecycle's ack does to the columns the sweep reads."""
    async with sessions.begin() as session:
        await session.execute(
            update(WorkOrder)
            .where(WorkOrder.id == order_id)
            .values(
                status=OrderStatus.ACKNOWLEDGED.value,
                acknowledged_at=at,
                version=WorkOrder.version + 1,
            )
        )


async def open_minor(sessions: Sessions, site: Site) -> int:
    await seed_policies(sessions)
    (opened,) = await raise_fault_at(sessions, site, LIGHT_RED, "lamp_failure", at=T0)
    assert opened.kind is ChangeKind.OPENED and opened.severity == Severity.MINOR
    return opened.order_id


async def test_opening_starts_the_clock_from_the_policy_in_the_database(
    sessions: Sessions, site: Site, recorder: Recorder
) -> None:
    order_id = await open_minor(sessions, site)
    order = await load_order(sessions, order_id)
    assert order.tier == Tier.GRID
    assert order.ack_due_at == T0 + timedelta(seconds=MINOR.ack_s)
    assert order.resolve_due_at == T0 + timedelta(seconds=MINOR.resolve_s)
    assert order.next_reminder_at == T0 + timedelta(seconds=MINOR.reminder_s)
    assert order.version == 1  # completed in the transaction that created it
    assert recorder.kinds() == [ChangeKind.OPENED]


async def test_unacknowledged_minor_escalates_grid_community_street_then_stops_on_ack(
    sessions: Sessions, site: Site, recorder: Recorder, clock: ManualClock
) -> None:
    order_id = await open_minor(sessions, site)
    recorder.take()
    sweeper = make_sweeper(sessions, site, clock)
    reminders_per_tier = (
        -(-MINOR.ack_s // MINOR.reminder_s) - 1
    )  # reminders strictly before the deadline

    async def run_tier(expected_tier: Tier, from_tier: Tier) -> None:
        start = clock()
        for _ in range(reminders_per_tier):
            clock.advance(MINOR.reminder_s)
            facts = await sweeper.sweep_once()
            assert [(f.kind, f.reason) for f in facts] == [(ChangeKind.REMINDED, "unacknowledged")]
        clock.advance((start + timedelta(seconds=MINOR.ack_s) - clock()).total_seconds() - 1)
        assert await sweeper.sweep_once() == []  # one second before the deadline: nothing
        clock.advance(1)
        (fact,) = await sweeper.sweep_once()
        assert (fact.kind, fact.tier, fact.from_tier, fact.reason) == (
            ChangeKind.ESCALATED,
            expected_tier,
            from_tier,
            "ack_overdue",
        )
        order = await load_order(sessions, order_id)
        assert (order.tier, order.escalated_at) == (expected_tier, clock())
        assert order.ack_due_at == clock() + timedelta(seconds=MINOR.ack_s)  # clock restarted

    await run_tier(Tier.COMMUNITY, Tier.GRID)
    await run_tier(Tier.STREET, Tier.COMMUNITY)
    # At the street it stays, and keeps reminding.
    clock.advance(MINOR.ack_s)
    (fact,) = await sweeper.sweep_once()
    assert (fact.kind, fact.tier, fact.reason) == (ChangeKind.REMINDED, Tier.STREET, "ack_overdue")
    clock.advance(MINOR.reminder_s)
    (fact,) = await sweeper.sweep_once()
    assert (fact.kind, fact.reason) == (ChangeKind.REMINDED, "unacknowledged")
    # Acknowledged: no more reminders or ack escalation (only the resolve deadline remains).
    await acknowledge(sessions, order_id, clock())
    clock.advance(MINOR.reminder_s * 3)
    assert await sweeper.sweep_once() == []
    assert sweeper.stats.escalated == 2
    assert recorder.kinds(order_id).count(ChangeKind.ESCALATED) == 2


async def test_acknowledged_order_stops_climbing_until_its_resolve_deadline(
    sessions: Sessions, site: Site, recorder: Recorder, clock: ManualClock
) -> None:
    order_id = await open_minor(sessions, site)
    sweeper = make_sweeper(sessions, site, clock)
    clock.advance(MINOR.ack_s)
    (escalated,) = await sweeper.sweep_once()
    assert escalated.tier == Tier.COMMUNITY
    await acknowledge(sessions, order_id, clock())
    clock.advance(MINOR.resolve_s - 1)
    assert await sweeper.sweep_once() == []
    clock.advance(1)
    (fact,) = await sweeper.sweep_once()
    assert (fact.kind, fact.tier, fact.reason) == (
        ChangeKind.ESCALATED,
        Tier.STREET,
        "resolve_overdue",
    )
    order = await load_order(sessions, order_id)
    assert order.ack_due_at is None and order.next_reminder_at is None  # acknowledged already


async def test_hand_back_restarts_the_clock_at_the_lower_tier(
    sessions: Sessions, site: Site, recorder: Recorder, clock: ManualClock
) -> None:
    order_id = await open_minor(sessions, site)
    sweeper = make_sweeper(sessions, site, clock)
    for _ in range(2):
        clock.advance(MINOR.ack_s)
        await sweeper.sweep_once()
    order = await load_order(sessions, order_id)
    assert order.tier == Tier.STREET
    recorder.take()
    now = clock.advance(60)
    async with sessions.begin() as session:
        with pytest.raises(StaleOrderError):
            await hand_back(
                session,
                site=site,
                order_id=order_id,
                to_tier=Tier.GRID,
                reason="x",
                version=order.version - 1,
                by="street",
                now=now,
            )
    async with sessions.begin() as session:
        with pytest.raises(HandBackError, match="only go down"):
            await hand_back(
                session,
                site=site,
                order_id=order_id,
                to_tier=Tier.STREET,
                reason="x",
                version=order.version,
                by="street",
                now=now,
            )
    async with sessions.begin() as session:
        fact = await hand_back(
            session,
            site=site,
            order_id=order_id,
            to_tier=Tier.GRID,
            reason="grid team has the spare lamp",
            version=order.version,
            by="street",
            now=now,
        )
    assert (fact.kind, fact.tier, fact.from_tier, fact.reason) == (
        ChangeKind.HANDED_BACK,
        Tier.GRID,
        Tier.STREET,
        "grid team has the spare lamp",
    )
    assert recorder.kinds() == [ChangeKind.HANDED_BACK]
    handed = await load_order(sessions, order_id)
    assert handed.tier == Tier.GRID and handed.version == order.version + 1
    assert handed.ack_due_at == now + timedelta(seconds=MINOR.ack_s)
    clock.advance(MINOR.ack_s)
    kinds = [(f.kind, f.tier) for f in await sweeper.sweep_once()]
    assert kinds == [(ChangeKind.ESCALATED, Tier.COMMUNITY)]


@pytest.fixture
async def second_engine(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    """Another replica's own engine (own connection pool) on the same database."""
    other = create_engine(engine.url.render_as_string(hide_password=False))
    try:
        yield other
    finally:
        await other.dispose()


async def test_concurrent_sweepers_escalate_each_order_once(
    sessions: Sessions, second_engine: AsyncEngine, site: Site, recorder: Recorder
) -> None:
    await seed_policies(sessions)
    opened = []
    for device, code in ((LIGHT_RED, "lamp_failure"), (PIPE_YELLOW, "low_pressure")):
        (fact,) = await raise_fault_at(sessions, site, device, code, at=T0)
        opened.append(fact.order_id)
    recorder.take()
    clock = ManualClock(T0 + timedelta(seconds=MINOR.ack_s))
    replicas = [
        make_sweeper(sessions, site, clock, escalation_batch_size=1),
        make_sweeper(sessions, site, clock, escalation_batch_size=1),
        make_sweeper(session_factory(second_engine), site, clock, escalation_batch_size=1),
        make_sweeper(session_factory(second_engine), site, clock, escalation_batch_size=1),
    ]
    results = await asyncio.gather(*(replica.sweep_once() for replica in replicas))
    escalated = sorted(
        f.order_id for facts in results for f in facts if f.kind is ChangeKind.ESCALATED
    )
    assert escalated == sorted(opened)
    assert sorted(f.order_id for f in recorder.changes) == sorted(opened)
    for order_id in opened:
        order = await load_order(sessions, order_id)
        assert (order.tier, order.version) == (Tier.COMMUNITY, 2)


async def test_the_sweeper_task_sweeps_every_interval(
    sessions: Sessions, site: Site, recorder: Recorder, clock: ManualClock
) -> None:
    order_id = await open_minor(sessions, site)
    clock.advance(MINOR.ack_s)
    async with make_sweeper(sessions, site, clock, escalation_sweep_interval_s=0.01) as sweeper:
        deadline = asyncio.get_running_loop().time() + 10
        while sweeper.stats.rounds < 3:
            assert asyncio.get_running_loop().time() < deadline, "the sweeper never swept"
            await asyncio.sleep(0.01)
    order = await load_order(sessions, order_id)
    assert order.tier == Tier.COMMUNITY  # escalated once, not once per round
    assert sweeper.stats.escalated == 1 and sweeper.stats.failed == 0
