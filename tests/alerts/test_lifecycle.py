"""The lifecycle table against a real database: every allowed and every forbidden transition,
the audit, notes, members, stale versions, the SLA clock, reassign, comments and history."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.errors import (
    AlreadyAssignedError,
    ForbiddenTransitionError,
    InvalidCommandError,
    NoteRequiredError,
    OrderNotFoundError,
    StaleOrderError,
    UnknownMemberError,
)
from alerts.escalation.sla import DEFAULT_POLICIES, seed_default_policies
from alerts.orders.comments import add_comment, list_comments
from alerts.orders.lifecycle import (
    COMMANDS,
    TRANSITIONS,
    Action,
    allowed_actions,
    history,
    reassign,
    transition,
)
from governance.model import Site
from sensors.catalogue import Severity
from storage.relational.lifecycle_models import OrderComment, OrderTransition
from storage.relational.models import OrderStatus, WorkOrder
from storage.relational.outbox_models import OutboxMessage
from tests.alerts.conftest import LIGHT_RED, T0

Sessions = async_sessionmaker[AsyncSession]
LATER = T0 + timedelta(minutes=7)
ACTOR = "admin"

ALLOWED = sorted(TRANSITIONS.items())
# Derived from the table, so a new state or command is covered without touching this file.
FORBIDDEN = [
    (status, action)
    for status in OrderStatus
    for action in COMMANDS
    if (status, action) not in TRANSITIONS
]
# What entering each status stamps (the column must be ``now`` afterwards).
STAMPED = {
    OrderStatus.ACKNOWLEDGED: "acknowledged_at",
    OrderStatus.IN_PROGRESS: "started_at",
    OrderStatus.RESOLVED: "resolved_at",
    OrderStatus.CLOSED: "closed_at",
    OrderStatus.CANCELLED: "cancelled_at",
}


async def add_order(
    sessions: Sessions, status: OrderStatus = OrderStatus.OPEN, **fields: Any
) -> WorkOrder:
    """A device order of team t1 (leader lead-1, member mem-1) in ``status``."""
    values: dict[str, Any] = {
        "device_id": LIGHT_RED,
        "fault_code": "short_circuit",
        "severity": Severity.MAJOR.value,
        "priority": 1,
        "status": status.value,
        "tier": "grid",
        "building_id": "b-red",
        "grid_id": "g1",
        "community_id": "c1",
        "team_id": "t1",
        "assignee": "mem-1",
        "created_at": T0,
        "updated_at": T0,
        "open_key": None if status.is_terminal else f"{LIGHT_RED}:short_circuit",
        "ack_due_at": T0 + timedelta(minutes=15),
        "resolve_due_at": T0 + timedelta(hours=8),
        "next_reminder_at": T0 + timedelta(minutes=5),
    }
    if status is OrderStatus.RESOLVED:
        values |= {"acknowledged_at": T0, "resolved_at": T0}
    values.update(fields)
    order = WorkOrder(**values)
    async with sessions.begin() as session:
        session.add(order)
    return order


async def reload(sessions: Sessions, order_id: int) -> WorkOrder:
    async with sessions() as session:
        return await session.get_one(WorkOrder, order_id)


async def transitions_of(sessions: Sessions, order_id: int) -> list[OrderTransition]:
    async with sessions() as session:
        return await history(session, order_id=order_id)


async def act(
    sessions: Sessions, site: Site, order_id: int, action: Action, **kwargs: Any
) -> WorkOrder:
    kwargs.setdefault("version", 1)
    kwargs.setdefault("note", "checked on site")
    async with sessions.begin() as session:
        return await transition(
            session, site=site, order_id=order_id, action=action, actor=ACTOR, now=LATER, **kwargs
        )


def test_the_table_leaves_no_state_stranded() -> None:
    for status in OrderStatus:
        assert bool(allowed_actions(status)) is not status.is_terminal, status
    assert {target for target in TRANSITIONS.values()} == set(OrderStatus) - {OrderStatus.OPEN}


def test_the_documented_table_is_the_code_table() -> None:
    """docs/workorders.md shows TRANSITIONS as a status-by-command grid; they must agree."""
    lines = (Path(__file__).parents[2] / "docs" / "workorders.md").read_text().splitlines()
    header = next(line for line in lines if line.startswith("| from \\ command |"))
    commands = [cell.strip(" `") for cell in header.strip("|").split("|")[1:]]
    assert commands == [action.value for action in COMMANDS]
    documented: dict[tuple[OrderStatus, Action], OrderStatus] = {}
    rows = lines[lines.index(header) + 2 :]
    for row in rows[: len(OrderStatus)]:
        first, *cells = (cell.strip() for cell in row.strip("|").split("|"))
        for command, cell in zip(COMMANDS, cells, strict=True):
            if cell != "—":
                documented[(OrderStatus(first.strip("`")), command)] = OrderStatus(cell.split()[0])
    assert documented == dict(TRANSITIONS)


@pytest.mark.parametrize(("edge", "target"), ALLOWED, ids=lambda v: str(v))
async def test_every_allowed_transition(
    sessions: Sessions,
    site: Site,
    edge: tuple[OrderStatus, Action],
    target: OrderStatus,
) -> None:
    start, action = edge
    order = await add_order(sessions, start)

    done = await act(sessions, site, order.id, action, note="  why  ", on_behalf_of="lead-1")

    stored = await reload(sessions, order.id)
    assert (done.status, stored.status, stored.version) == (target, target, 2)
    assert getattr(stored, STAMPED[target]) == LATER
    assert (stored.open_key is None) is target.is_terminal
    if target is not OrderStatus.CLOSED and target is not OrderStatus.CANCELLED:
        assert stored.acknowledged_at is not None  # every forward move acknowledges
    [audit] = await transitions_of(sessions, order.id)
    assert (audit.action, audit.from_status, audit.to_status) == (action, start, target)
    assert (audit.actor, audit.on_behalf_of, audit.note) == (ACTOR, "lead-1", "why")
    assert (audit.at, audit.version, audit.from_assignee, audit.to_assignee) == (
        LATER,
        2,
        "mem-1",
        "mem-1",
    )


@pytest.mark.parametrize(("start", "action"), FORBIDDEN, ids=lambda v: str(v))
async def test_every_forbidden_transition_is_refused_and_changes_nothing(
    sessions: Sessions, site: Site, start: OrderStatus, action: Action
) -> None:
    order = await add_order(sessions, start)

    with pytest.raises(ForbiddenTransitionError) as refused:
        await act(sessions, site, order.id, action)

    message = str(refused.value)
    assert f"is {start.value}: cannot {action.value}" in message
    for allowed in allowed_actions(start):
        assert allowed.value in message
    stored = await reload(sessions, order.id)
    assert (stored.status, stored.version, stored.updated_at) == (start, 1, T0)
    assert await transitions_of(sessions, order.id) == []


@pytest.mark.parametrize("action", [Action.CLOSE, Action.CANCEL])
@pytest.mark.parametrize("note", ["", "   \n"])
async def test_close_and_cancel_need_a_note(
    sessions: Sessions, site: Site, action: Action, note: str
) -> None:
    order = await add_order(sessions, OrderStatus.RESOLVED)
    with pytest.raises(NoteRequiredError, match=f"{action.value} needs a note"):
        await act(sessions, site, order.id, action, note=note)
    assert (await reload(sessions, order.id)).version == 1


async def test_ack_needs_no_note(sessions: Sessions, site: Site) -> None:
    order = await add_order(sessions)
    await act(sessions, site, order.id, Action.ACK, note="")
    [audit] = await transitions_of(sessions, order.id)
    assert audit.note == "" and audit.on_behalf_of is None


async def test_acting_for_someone_outside_the_team_is_refused(
    sessions: Sessions, site: Site
) -> None:
    order = await add_order(sessions)
    with pytest.raises(UnknownMemberError, match="'mem-2' is not a member of team 't1'"):
        await act(sessions, site, order.id, Action.ACK, on_behalf_of="mem-2")
    assert (await reload(sessions, order.id)).status == OrderStatus.OPEN


async def test_a_stale_version_names_the_current_one(sessions: Sessions, site: Site) -> None:
    order = await add_order(sessions)
    await act(sessions, site, order.id, Action.ACK)
    with pytest.raises(StaleOrderError, match="now version 2, status acknowledged"):
        await act(sessions, site, order.id, Action.START, version=1)
    assert [t.action for t in await transitions_of(sessions, order.id)] == ["ack"]


async def test_unknown_order(sessions: Sessions, site: Site) -> None:
    with pytest.raises(OrderNotFoundError, match="work order 404 not found"):
        await act(sessions, site, 404, Action.ACK)


async def test_the_full_path_and_its_history_oldest_first(sessions: Sessions, site: Site) -> None:
    order = await add_order(sessions)
    steps = [
        (Action.ACK, OrderStatus.ACKNOWLEDGED),
        (Action.START, OrderStatus.IN_PROGRESS),
        (Action.RESOLVE, OrderStatus.RESOLVED),
        (Action.START, OrderStatus.IN_PROGRESS),  # rework
        (Action.RESOLVE, OrderStatus.RESOLVED),
        (Action.CLOSE, OrderStatus.CLOSED),
    ]
    for version, (action, expected) in enumerate(steps, start=1):
        assert (await act(sessions, site, order.id, action, version=version)).status == expected
    audit = await transitions_of(sessions, order.id)
    assert [(t.action, t.to_status, t.version) for t in audit] == [
        (action.value, status.value, version)
        for version, (action, status) in enumerate(steps, start=2)
    ]


async def test_the_sla_clock_follows_the_state(sessions: Sessions, site: Site) -> None:
    async with sessions.begin() as session:
        await seed_default_policies(session, now=T0)
    order = await add_order(sessions)
    resolve_due = order.resolve_due_at

    acked = await act(sessions, site, order.id, Action.ACK)
    assert (acked.ack_due_at, acked.next_reminder_at) == (None, None)
    assert acked.resolve_due_at == resolve_due  # the resolve deadline still runs
    resolved = await act(sessions, site, order.id, Action.RESOLVE, version=2)
    assert (resolved.ack_due_at, resolved.resolve_due_at, resolved.next_reminder_at) == (
        None,
        None,
        None,
    )
    rework = await act(sessions, site, order.id, Action.START, version=3)
    resolve_s = DEFAULT_POLICIES[Severity.MAJOR].resolve_s
    assert rework.resolve_due_at == LATER + timedelta(seconds=resolve_s)
    assert (rework.resolved_at, rework.ack_due_at) == (None, None)


async def test_a_transition_is_notified_in_its_transaction(sessions: Sessions, site: Site) -> None:
    order = await add_order(sessions)
    await act(sessions, site, order.id, Action.CANCEL, note="sensor was being serviced")
    async with sessions() as session:
        rows = list((await session.scalars(select(OutboxMessage))).all())
    assert {(row.order_id, row.event) for row in rows} == {(order.id, "cancelled")}
    assert any('"reason":"sensor was being serviced"' in row.payload for row in rows)


async def test_a_refused_transition_notifies_nobody(sessions: Sessions, site: Site) -> None:
    order = await add_order(sessions, OrderStatus.CLOSED)
    with pytest.raises(ForbiddenTransitionError):
        await act(sessions, site, order.id, Action.ACK)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


# Reassign ---------------------------------------------------------------------------------------


async def do_reassign(sessions: Sessions, site: Site, order_id: int, **kwargs: Any) -> WorkOrder:
    kwargs.setdefault("version", 1)
    kwargs.setdefault("reason", "mem-1 is on leave")
    async with sessions.begin() as session:
        return await reassign(
            session, site=site, order_id=order_id, actor=ACTOR, now=LATER, **kwargs
        )


async def test_reassign_to_the_leader_is_audited(sessions: Sessions, site: Site) -> None:
    order = await add_order(sessions, OrderStatus.ACKNOWLEDGED)
    done = await do_reassign(sessions, site, order.id, assignee="lead-1")
    assert (done.assignee, done.status, done.version) == ("lead-1", "acknowledged", 2)
    [audit] = await transitions_of(sessions, order.id)
    assert (audit.action, audit.from_assignee, audit.to_assignee, audit.note) == (
        "reassign",
        "mem-1",
        "lead-1",
        "mem-1 is on leave",
    )
    assert audit.from_status == audit.to_status == "acknowledged"


@pytest.mark.parametrize(
    ("status", "kwargs", "error"),
    [
        (OrderStatus.OPEN, {"assignee": "lead-2"}, UnknownMemberError),  # another team's leader
        (OrderStatus.OPEN, {"assignee": "lead-1", "reason": " "}, NoteRequiredError),
        (OrderStatus.OPEN, {"assignee": "mem-1"}, AlreadyAssignedError),
        (OrderStatus.OPEN, {"assignee": "lead-1", "version": 7}, StaleOrderError),
        (OrderStatus.CLOSED, {"assignee": "lead-1"}, ForbiddenTransitionError),
        (OrderStatus.CANCELLED, {"assignee": "lead-1"}, ForbiddenTransitionError),
    ],
)
async def test_reassign_refusals_change_nothing(
    sessions: Sessions,
    site: Site,
    status: OrderStatus,
    kwargs: dict[str, Any],
    error: type[Exception],
) -> None:
    order = await add_order(sessions, status)
    with pytest.raises(error):
        await do_reassign(sessions, site, order.id, **kwargs)
    stored = await reload(sessions, order.id)
    assert (stored.assignee, stored.version) == ("mem-1", 1)
    assert await transitions_of(sessions, order.id) == []


# Comments ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(OrderStatus))
async def test_comments_in_every_state_keep_the_version(
    sessions: Sessions, site: Site, status: OrderStatus
) -> None:
    order = await add_order(sessions, status)
    async with sessions.begin() as session:
        await add_comment(
            session, site=site, order_id=order.id, author=ACTOR, body=" first ", now=T0
        )
        await add_comment(
            session,
            site=site,
            order_id=order.id,
            author=ACTOR,
            body="second",
            on_behalf_of="mem-1",
            now=LATER,
        )
    async with sessions() as session:
        comments = await list_comments(session, order_id=order.id)
    assert [(c.body, c.on_behalf_of, c.created_at) for c in comments] == [
        ("first", None, T0),
        ("second", "mem-1", LATER),
    ]
    assert (await reload(sessions, order.id)).version == 1


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"order_id": 999, "body": "x"}, OrderNotFoundError),
        ({"body": "  "}, InvalidCommandError),
        ({"body": "x", "on_behalf_of": "stranger"}, UnknownMemberError),
    ],
)
async def test_bad_comments_are_refused(
    sessions: Sessions, site: Site, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    order = await add_order(sessions)
    kwargs.setdefault("order_id", order.id)
    with pytest.raises(error):
        async with sessions.begin() as session:
            await add_comment(session, site=site, author=ACTOR, now=T0, **kwargs)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OrderComment)) == 0


async def test_history_and_comments_of_an_unknown_order(sessions: Sessions) -> None:
    async with sessions() as session:
        with pytest.raises(OrderNotFoundError):
            await history(session, order_id=5)
        with pytest.raises(OrderNotFoundError):
            await list_comments(session, order_id=5)
