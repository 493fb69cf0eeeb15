"""A smoke alarm in a charging shed: grid team and fire department in parallel; port faults link."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.errors import AlreadyAcknowledgedError, DispatchNotFoundError
from alerts.escalation.departments import acknowledge_department, list_dispatches
from alerts.escalation.sla import DEFAULT_POLICIES
from alerts.escalation.sweeper import EscalationSweeper
from alerts.orders.changes import ChangeKind
from core.clock import ManualClock
from core.settings import Settings
from governance.model import Department, Site
from sensors.catalogue import Severity
from storage.relational.sla_models import DepartmentDispatch
from tests.alerts.conftest import SHED_GREEN, T0
from tests.alerts.escalation_support import (
    Recorder,
    install_recorder,
    load_order,
    raise_fault_at,
    seed_policies,
)

Sessions = async_sessionmaker[AsyncSession]
CRITICAL = DEFAULT_POLICIES[Severity.CRITICAL]


@pytest.fixture
def fire_site(site: Site) -> Site:
    """The test site with the fire department of the example site."""
    fire = Department("fire", "Fire brigade", handles=frozenset({"smoke", "overheat"}))
    return dataclasses.replace(site, departments={"fire": fire})


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    return install_recorder(monkeypatch)


async def test_smoke_dispatches_team_and_fire_and_port_fault_links_to_it(
    sessions: Sessions, fire_site: Site, recorder: Recorder
) -> None:
    await seed_policies(sessions)
    facts = await raise_fault_at(sessions, fire_site, SHED_GREEN, "smoke", at=T0)
    assert [(f.kind, f.department_id) for f in facts] == [
        (ChangeKind.OPENED, None),
        (ChangeKind.DISPATCHED, "fire"),
    ]
    smoke = facts[0]
    assert smoke.pages and smoke.team_id == "t1" and smoke.assignee == "lead-1"
    (dispatch,) = await _dispatches(sessions, smoke.order_id)
    assert dispatch.ack_due_at == T0 + timedelta(seconds=CRITICAL.department_ack_s)

    later = T0 + timedelta(seconds=30)
    (port,) = await raise_fault_at(sessions, fire_site, SHED_GREEN, "port_fault", at=later)
    assert (port.kind, port.parent_id, port.pages) == (ChangeKind.OPENED, smoke.order_id, False)
    linked = await load_order(sessions, port.order_id)
    assert linked.parent_id == smoke.order_id
    assert (linked.ack_due_at, linked.resolve_due_at, linked.next_reminder_at) == (None,) * 3
    assert await _dispatches(sessions, port.order_id) == []


async def test_unacknowledged_department_is_reminded_until_it_acknowledges(
    sessions: Sessions, fire_site: Site, recorder: Recorder
) -> None:
    await seed_policies(sessions)
    (smoke, _dispatched) = await raise_fault_at(sessions, fire_site, SHED_GREEN, "smoke", at=T0)
    clock = ManualClock(T0)
    sweeper = EscalationSweeper(sessions=sessions, site=fire_site, settings=Settings(), clock=clock)
    clock.advance(CRITICAL.department_ack_s)
    facts = await sweeper.sweep_once()
    department_facts = [f for f in facts if f.department_id == "fire"]
    assert [(f.kind, f.reason) for f in department_facts] == [
        (ChangeKind.REMINDED, "department_ack_overdue")
    ]
    clock.advance(CRITICAL.reminder_s)
    facts = await sweeper.sweep_once()
    assert [f.kind for f in facts if f.department_id == "fire"] == [ChangeKind.REMINDED]

    async with sessions.begin() as session:
        ack = await acknowledge_department(
            session, order_id=smoke.order_id, department_id="fire", by="119", now=clock()
        )
    assert (ack.kind, ack.department_id) == (ChangeKind.DEPARTMENT_ACKNOWLEDGED, "fire")
    async with sessions.begin() as session:
        with pytest.raises(AlreadyAcknowledgedError):
            await acknowledge_department(
                session, order_id=smoke.order_id, department_id="fire", by="119", now=clock()
            )
        with pytest.raises(DispatchNotFoundError):
            await acknowledge_department(
                session, order_id=smoke.order_id, department_id="water", by="x", now=clock()
            )
    clock.advance(CRITICAL.reminder_s * 5)
    facts = await sweeper.sweep_once()
    assert [f for f in facts if f.department_id is not None] == []


async def test_explaining_order_adopts_the_unacknowledged_children_opened_before_it(
    sessions: Sessions, site: Site, recorder: Recorder
) -> None:
    await seed_policies(sessions)
    (port,) = await raise_fault_at(sessions, site, SHED_GREEN, "port_fault", at=T0)
    assert port.pages
    trip = await raise_fault_at(sessions, site, SHED_GREEN, "breaker_trip", at=T0)
    assert [(f.kind, f.order_id) for f in trip] == [
        (ChangeKind.OPENED, trip[0].order_id),
        (ChangeKind.LINKED, port.order_id),
    ]
    adopted = await load_order(sessions, port.order_id)
    assert adopted.parent_id == trip[0].order_id and adopted.ack_due_at is None


async def _dispatches(sessions: Sessions, order_id: int) -> list[DepartmentDispatch]:
    async with sessions() as session:
        return list(await list_dispatches(session, order_id=order_id))
