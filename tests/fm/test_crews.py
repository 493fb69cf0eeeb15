"""Simulated crews work street life's orders through the real lifecycle, on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.escalation.sla import DEFAULT_POLICIES, SlaTimes, seed_default_policies
from alerts.orders.lifecycle import history
from alerts.orders.raising import handle_event
from core.clock import ManualClock
from fm.crews import CREW_ACTOR, CrewPlan, SimulatedCrews, fate_of, load_crew_plan
from sensors.catalogue import Severity
from sensors.street_life import BUNDLED_LIFE
from storage.relational.db import create_engine, session_factory
from storage.relational.models import Base, OrderStatus, WorkOrder
from tests.alerts.conftest import LIGHT_RED, PIPE_YELLOW, T0, build_site, make_event

MAJOR = DEFAULT_POLICIES[Severity.MAJOR]


def plan(*, on_time: float) -> CrewPlan:
    return CrewPlan(
        check_interval_s=30,
        ack_on_time=on_time,
        resolve_on_time=on_time,
        on_time_share=(0.2, 0.5),
        late_share=(1.5, 2.0),
        close_after_s=(600, 1200),
    )


class FakeFleet:
    """The crews' view of the fleet: which faults street life made, and what they fixed."""

    def __init__(self, life: set[tuple[str, str]]) -> None:
        self.life = life
        self.recovered: list[tuple[str, str | None]] = []

    @property
    def life_faults(self) -> frozenset[tuple[str, str]]:
        return frozenset(self.life)

    def recover(self, device_id: str, code: str | None = None) -> None:
        self.recovered.append((device_id, code))
        self.life.discard((device_id, code or ""))


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'crews.sqlite3'}")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    factory = session_factory(engine)
    async with factory.begin() as session:
        await seed_default_policies(session, now=T0)
    yield factory
    await engine.dispose()


async def open_order(sessions: async_sessionmaker[AsyncSession], device_id: str, code: str) -> int:
    async with sessions.begin() as session:
        await handle_event(session, site=build_site(), event=make_event(device_id, code), now=T0)
        order_id = await session.scalar(
            select(WorkOrder.id).where(WorkOrder.device_id == device_id)
        )
    assert order_id is not None
    return order_id


async def reload(sessions: async_sessionmaker[AsyncSession], order_id: int) -> WorkOrder:
    async with sessions() as session:
        order = await session.get(WorkOrder, order_id)
    assert order is not None
    return order


async def play(crews: SimulatedCrews, clock: ManualClock, *, for_s: float, step_s: float) -> None:
    """Rounds of the crews every ``step_s`` for ``for_s`` seconds of the fake clock."""
    for _ in range(int(for_s // step_s) + 1):
        clock.advance(step_s)
        await crews.work_once()


async def test_on_time_crews_ack_resolve_and_close_within_the_sla_and_fix_the_device(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    order_id = await open_order(sessions, PIPE_YELLOW, "leak")
    fleet = FakeFleet({(PIPE_YELLOW, "leak")})
    clock = ManualClock(T0)
    crews = SimulatedCrews(
        sessions=sessions, site=build_site(), fleet=fleet, plan=plan(on_time=1.0), seed=1,
        clock=clock,
    )  # fmt: skip
    await crews.work_once()  # takes the order on while its fault is street life's
    fleet.life.clear()  # a fault that ended must not make the crews drop the order
    await play(crews, clock, for_s=MAJOR.resolve_s * 0.5 + 1200, step_s=60)

    order = await reload(sessions, order_id)
    assert order.status is OrderStatus.CLOSED
    assert order.acknowledged_at is not None and order.resolved_at is not None
    assert order.acknowledged_at - order.created_at <= timedelta(seconds=MAJOR.ack_s)
    assert order.resolved_at - order.created_at <= timedelta(seconds=MAJOR.resolve_s)
    assert order.tier == "grid"
    assert fleet.recovered == [(PIPE_YELLOW, "leak")]
    async with sessions() as session:
        steps = await history(session, order_id=order_id)
    assert [t.action for t in steps] == ["ack", "start", "resolve", "close"]
    assert {t.actor for t in steps} == {CREW_ACTOR}
    assert {t.on_behalf_of for t in steps} == {order.assignee}
    assert crews.stats.actions == {"ack": 1, "start": 1, "resolve": 1, "close": 1}


async def test_late_crews_miss_the_ack_deadline(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    order_id = await open_order(sessions, PIPE_YELLOW, "leak")
    clock = ManualClock(T0)
    crews = SimulatedCrews(
        sessions=sessions, site=build_site(), fleet=FakeFleet({(PIPE_YELLOW, "leak")}),
        plan=plan(on_time=0.0), seed=1, clock=clock,
    )  # fmt: skip
    await play(crews, clock, for_s=MAJOR.ack_s * 2.0, step_s=30)
    order = await reload(sessions, order_id)
    assert order.acknowledged_at is not None
    assert order.acknowledged_at - order.created_at > timedelta(seconds=MAJOR.ack_s)


async def test_orders_people_caused_are_left_to_people(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    order_id = await open_order(sessions, LIGHT_RED, "short_circuit")
    clock = ManualClock(T0)
    crews = SimulatedCrews(
        sessions=sessions, site=build_site(), fleet=FakeFleet(set()), plan=plan(on_time=1.0),
        seed=1, clock=clock,
    )  # fmt: skip
    await play(crews, clock, for_s=MAJOR.resolve_s * 3, step_s=3600)
    order = await reload(sessions, order_id)
    assert order.status is OrderStatus.OPEN
    assert crews.stats.actions == {}


def test_a_fate_is_the_same_every_time_and_resolving_never_precedes_acknowledging() -> None:
    times = SlaTimes(ack_s=600, resolve_s=600, reminder_s=60, department_ack_s=60)
    for key in map(str, range(200)):
        fate = fate_of(plan(on_time=0.5), times, seed=3, key=key)
        assert fate == fate_of(plan(on_time=0.5), times, seed=3, key=key)
        assert fate.ack_after_s <= fate.resolve_after_s


def test_the_bundled_crews_plan_loads() -> None:
    loaded = load_crew_plan(BUNDLED_LIFE)
    assert 0 < loaded.ack_on_time < 1
    assert loaded.late_share[0] > 1  # late means past the deadline
