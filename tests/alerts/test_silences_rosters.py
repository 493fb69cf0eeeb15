"""Silences suppress paging and SLA; the duty roster routes new orders without a restart."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.errors import InvalidScheduleError
from alerts.escalation.rosters import add_shift, delete_shift
from alerts.escalation.silences import create_silence
from alerts.escalation.sweeper import EscalationSweeper
from alerts.orders.changes import ChangeKind
from core.clock import ManualClock
from core.settings import Settings
from governance.model import Member, MemberRole, Site
from storage.relational.sla_models import SilenceScope
from tests.alerts.conftest import LIGHT_RED, PIPE_YELLOW, SHED_GREEN, T0
from tests.alerts.escalation_support import (
    Recorder,
    install_recorder,
    load_order,
    raise_fault_at,
    seed_policies,
)

Sessions = async_sessionmaker[AsyncSession]
HOUR = timedelta(hours=1)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    return install_recorder(monkeypatch)


async def test_fault_inside_a_silence_is_recorded_but_pages_nobody_and_has_no_sla(
    sessions: Sessions, site: Site, recorder: Recorder
) -> None:
    await seed_policies(sessions)
    async with sessions.begin() as session:
        await create_silence(
            session,
            site=site,
            scope_kind=SilenceScope.GRID,
            scope_id="g1",
            starts_at=T0,
            ends_at=T0 + HOUR,
            reason="rewiring",
            created_by="admin",
            now=T0,
        )
    (light,) = await raise_fault_at(sessions, site, LIGHT_RED, "lamp_failure", at=T0 + HOUR / 2)
    assert (light.kind, light.silenced, light.pages) == (ChangeKind.OPENED, True, False)
    order = await load_order(sessions, light.order_id)
    assert order.silenced and order.ack_due_at is None and order.resolve_due_at is None
    # Another grid, and the same grid after the window, page as usual.
    (pipe,) = await raise_fault_at(sessions, site, PIPE_YELLOW, "low_pressure", at=T0 + HOUR / 2)
    (shed,) = await raise_fault_at(sessions, site, SHED_GREEN, "port_fault", at=T0 + HOUR)
    assert pipe.pages and shed.pages
    clock = ManualClock(T0 + timedelta(days=30))
    facts = await EscalationSweeper(
        sessions=sessions, site=site, settings=Settings(), clock=clock
    ).sweep_once()
    assert light.order_id not in {f.order_id for f in facts}
    assert {pipe.order_id, shed.order_id} <= {f.order_id for f in facts}


async def test_silence_scope_and_window_are_validated(sessions: Sessions, site: Site) -> None:
    async with sessions.begin() as session:
        with pytest.raises(InvalidScheduleError, match="no device"):
            await create_silence(
                session,
                site=site,
                scope_kind=SilenceScope.DEVICE,
                scope_id="nope",
                starts_at=T0,
                ends_at=T0 + HOUR,
                reason="",
                created_by="a",
                now=T0,
            )
        with pytest.raises(InvalidScheduleError, match="end after"):
            await create_silence(
                session,
                site=site,
                scope_kind=SilenceScope.DEVICE,
                scope_id=LIGHT_RED,
                starts_at=T0,
                ends_at=T0,
                reason="",
                created_by="a",
                now=T0,
            )


async def test_roster_changes_routing_of_the_next_order_without_restart(
    sessions: Sessions, site: Site, recorder: Recorder
) -> None:
    # Nobody answers for the shed's building: the roster decides, else the leader.
    team = site.teams["t1"]
    on_call = Member("oncall-1", "On Call", MemberRole.PART_TIME)
    teams = {**site.teams, "t1": dataclasses.replace(team, members=(*team.members, on_call))}
    site = dataclasses.replace(site, teams=teams)
    await seed_policies(sessions)
    (first,) = await raise_fault_at(sessions, site, SHED_GREEN, "port_fault", at=T0)
    assert first.assignee == "lead-1"
    async with sessions.begin() as session:
        shift = await add_shift(
            session,
            site=site,
            team_id="t1",
            member_id="oncall-1",
            starts_at=T0,
            ends_at=T0 + HOUR,
            created_by="admin",
            now=T0,
        )
        with pytest.raises(InvalidScheduleError, match="not a member"):
            await add_shift(
                session,
                site=site,
                team_id="t1",
                member_id="mem-2",
                starts_at=T0,
                ends_at=T0 + HOUR,
                created_by="admin",
                now=T0,
            )
    (second,) = await raise_fault_at(sessions, site, SHED_GREEN, "offline", at=T0 + HOUR / 4)
    assert second.assignee == "oncall-1"
    # The member who answers for a building still comes first.
    (light,) = await raise_fault_at(sessions, site, LIGHT_RED, "lamp_failure", at=T0 + HOUR / 4)
    assert light.assignee == "mem-1"
    async with sessions.begin() as session:
        assert await delete_shift(session, shift_id=shift.id)
    (third,) = await raise_fault_at(sessions, site, SHED_GREEN, "overload", at=T0 + HOUR / 2)
    assert third.assignee == "lead-1"
