"""The work-order lifecycle: the one table of allowed transitions, and the commands over it.

Every command runs in the caller's transaction and never commits. It checks, in this order:
the order exists (else :class:`OrderNotFoundError`), the request is complete (a note where one
is required, team members that exist), the caller saw the current version (else
:class:`StaleOrderError`), and the table allows the move (else
:class:`ForbiddenTransitionError`). Only then it writes, with a guarded ``UPDATE … WHERE
version = :seen`` (``alerts.orders.versioned``): of two people acting on the same version, exactly
one update matches and the other gets :class:`StaleOrderError` — on SQLite, whose writers
queue on the database lock, and on PostgreSQL, which re-checks the condition after the row
lock is released. The audit row and the notification commit with the change.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import (
    AlreadyAssignedError,
    ForbiddenTransitionError,
    NoteRequiredError,
    OrderNotFoundError,
    StaleOrderError,
    UnknownMemberError,
)
from alerts.escalation.sla import NO_CLOCK, policy_for
from alerts.notifications.outbox import record_changes
from alerts.orders.changes import ChangeKind, OrderChange
from alerts.orders.versioned import update_if_unchanged
from governance.model import Site
from storage.relational.lifecycle_models import OrderTransition
from storage.relational.models import OrderStatus, WorkOrder

#: The actor of transitions nobody asked for (a recurring fault reopening an order).
SYSTEM_ACTOR = "system"


class Action(StrEnum):
    """What a transition row records; the first five are the commands people send."""

    ACK = "ack"
    START = "start"
    RESOLVE = "resolve"
    CLOSE = "close"
    CANCEL = "cancel"
    REASSIGN = "reassign"  # same status, another assignee
    REOPEN = "reopen"  # the system: the fault came back (see alerts/orders/raising.py)


#: The commands that move an order between states, in the order they are offered.
COMMANDS: tuple[Action, ...] = (
    Action.ACK,
    Action.START,
    Action.RESOLVE,
    Action.CLOSE,
    Action.CANCEL,
)

_S = OrderStatus
#: (current status, command) → next status. Anything not listed is forbidden (HTTP 409).
TRANSITIONS: Mapping[tuple[OrderStatus, Action], OrderStatus] = MappingProxyType(
    {
        (_S.OPEN, Action.ACK): _S.ACKNOWLEDGED,
        (_S.OPEN, Action.START): _S.IN_PROGRESS,  # acknowledges too: someone is on it
        (_S.OPEN, Action.RESOLVE): _S.RESOLVED,  # fixed on the spot; acknowledges too
        (_S.OPEN, Action.CANCEL): _S.CANCELLED,
        (_S.ACKNOWLEDGED, Action.START): _S.IN_PROGRESS,
        (_S.ACKNOWLEDGED, Action.RESOLVE): _S.RESOLVED,
        (_S.ACKNOWLEDGED, Action.CANCEL): _S.CANCELLED,
        (_S.IN_PROGRESS, Action.RESOLVE): _S.RESOLVED,
        (_S.IN_PROGRESS, Action.CANCEL): _S.CANCELLED,
        (_S.RESOLVED, Action.START): _S.IN_PROGRESS,  # rework: the fix did not hold
        (_S.RESOLVED, Action.CLOSE): _S.CLOSED,  # verified: closing says how it was fixed
        (_S.RESOLVED, Action.CANCEL): _S.CANCELLED,
    }
)

#: Commands whose note is required, with what the note should say.
NOTE_HINTS: Mapping[Action, str] = MappingProxyType(
    {
        Action.CLOSE: "say how it was fixed",
        Action.CANCEL: "say why it is a false alarm",
        Action.REASSIGN: "say why it changes hands",
    }
)

_CHANGE_OF: Mapping[Action, ChangeKind] = MappingProxyType(
    {
        Action.ACK: ChangeKind.ACKNOWLEDGED,
        Action.START: ChangeKind.STARTED,
        Action.RESOLVE: ChangeKind.RESOLVED,
        Action.CLOSE: ChangeKind.CLOSED,
        Action.CANCEL: ChangeKind.CANCELLED,
        Action.REASSIGN: ChangeKind.REASSIGNED,
    }
)

# Entering these ends the acknowledge clock (ack deadline and reminders); the resolve one runs.
_ACKNOWLEDGING = frozenset({_S.ACKNOWLEDGED, _S.IN_PROGRESS, _S.RESOLVED})


def allowed_actions(status: OrderStatus | str) -> tuple[Action, ...]:
    """The commands the table allows from ``status`` (none from a terminal state)."""
    current = OrderStatus(status)
    return tuple(action for action in COMMANDS if (current, action) in TRANSITIONS)


def team_member_ids(site: Site, team_id: str) -> tuple[str, ...]:
    """Ids of the team's leader and members (empty for a team the site does not have)."""
    team = site.teams.get(team_id)
    if team is None:
        return ()
    return (team.leader.id, *(member.id for member in team.members))


# Commands ---------------------------------------------------------------------------------------


async def transition(
    session: AsyncSession,
    *,
    site: Site,
    order_id: int,
    action: Action,
    version: int,
    actor: str,
    now: datetime,
    note: str = "",
    on_behalf_of: str | None = None,
) -> WorkOrder:
    """Apply one of :data:`COMMANDS` to the order the caller saw at ``version``."""
    if action not in COMMANDS:
        raise ValueError(f"{action} is not a status command; use one of {COMMANDS}")
    note = _checked_note(action, note)
    order = await _load(session, order_id)
    _check_member(site, order, on_behalf_of)
    _check_version(order, version)
    current = OrderStatus(order.status)
    target = TRANSITIONS.get((current, action))
    if target is None:
        raise ForbiddenTransitionError(
            order_id=order_id,
            status=current.value,
            action=action.value,
            allowed=[a.value for a in allowed_actions(current)],
        )
    values = await _entry_values(session, order, current, target, now)
    return await _apply(
        session,
        site=site,
        order=order,
        action=action,
        version=version,
        values=values,
        actor=actor,
        note=note,
        on_behalf_of=on_behalf_of,
        now=now,
    )


async def reassign(
    session: AsyncSession,
    *,
    site: Site,
    order_id: int,
    assignee: str,
    reason: str,
    version: int,
    actor: str,
    now: datetime,
    on_behalf_of: str | None = None,
) -> WorkOrder:
    """Hand the order to another member (or the leader) of its team; the status stays."""
    reason = _checked_note(Action.REASSIGN, reason)
    order = await _load(session, order_id)
    _check_member(site, order, assignee)
    _check_member(site, order, on_behalf_of)
    _check_version(order, version)
    if OrderStatus(order.status).is_terminal:
        raise ForbiddenTransitionError(
            order_id=order_id, status=order.status, action=Action.REASSIGN.value, allowed=()
        )
    if order.assignee == assignee:
        raise AlreadyAssignedError(order_id=order_id, assignee=assignee)
    return await _apply(
        session,
        site=site,
        order=order,
        action=Action.REASSIGN,
        version=version,
        values={"assignee": assignee},
        actor=actor,
        note=reason,
        on_behalf_of=on_behalf_of,
        now=now,
    )


async def history(session: AsyncSession, *, order_id: int) -> list[OrderTransition]:
    """Every transition of the order, oldest first; raises when the order does not exist."""
    await _load(session, order_id)
    rows = await session.scalars(
        select(OrderTransition)
        .where(OrderTransition.order_id == order_id)
        .order_by(OrderTransition.id)
    )
    return list(rows.all())


def add_transition(
    session: AsyncSession,
    *,
    order: WorkOrder,
    action: Action,
    from_status: str,
    from_assignee: str | None,
    actor: str,
    at: datetime,
    note: str = "",
    on_behalf_of: str | None = None,
) -> OrderTransition:
    """Append the audit row of a change already applied to ``order`` (flushed with it)."""
    row = OrderTransition(
        order_id=order.id,
        action=action.value,
        from_status=from_status,
        to_status=OrderStatus(order.status).value,
        from_assignee=from_assignee,
        to_assignee=order.assignee,
        actor=actor,
        on_behalf_of=on_behalf_of,
        note=note,
        version=order.version,
        at=at,
    )
    session.add(row)
    return row


# Steps ------------------------------------------------------------------------------------------


def _checked_note(action: Action, note: str) -> str:
    note = note.strip()
    hint = NOTE_HINTS.get(action)
    if hint is not None and not note:
        raise NoteRequiredError(action=action.value, hint=hint)
    return note


async def _load(session: AsyncSession, order_id: int) -> WorkOrder:
    order = await session.get(WorkOrder, order_id, populate_existing=True)
    if order is None:
        raise OrderNotFoundError(order_id)
    return order


def _check_member(site: Site, order: WorkOrder, member_id: str | None) -> None:
    if member_id is None:
        return
    known = team_member_ids(site, order.team_id)
    if member_id not in known:
        raise UnknownMemberError(member_id=member_id, team_id=order.team_id, known=known)


def _check_version(order: WorkOrder, seen: int) -> None:
    if order.version != seen:
        raise StaleOrderError(
            order_id=order.id, seen=seen, version=order.version, status=order.status
        )


async def _entry_values(
    session: AsyncSession,
    order: WorkOrder,
    current: OrderStatus,
    target: OrderStatus,
    now: datetime,
) -> dict[str, object]:
    """The columns entering ``target`` sets: its timestamp, the open key, the SLA clock."""
    values: dict[str, object] = {"status": target.value}
    if target in _ACKNOWLEDGING:
        # Starting or resolving an unacknowledged order acknowledges it: someone is on it.
        values["acknowledged_at"] = order.acknowledged_at or now
        values["ack_due_at"] = None
        values["next_reminder_at"] = None
    if target is OrderStatus.IN_PROGRESS:
        values["started_at"] = now
        if current is OrderStatus.RESOLVED:  # rework: not resolved any more, the clock restarts
            values["resolved_at"] = None
            values["resolve_due_at"] = await _restarted_resolve_deadline(session, order, now)
    elif target is OrderStatus.RESOLVED:
        values["resolved_at"] = now
        values.update(NO_CLOCK)
    elif target is OrderStatus.CLOSED:
        values["closed_at"] = now
    elif target is OrderStatus.CANCELLED:
        values["cancelled_at"] = now
    if target.is_terminal:
        # Frees the (device, fault) key: the next fault reopens (closed) or opens a new order.
        values["open_key"] = None
        values.update(NO_CLOCK)
    return values


async def _restarted_resolve_deadline(
    session: AsyncSession, order: WorkOrder, now: datetime
) -> datetime | None:
    if order.silenced or order.parent_id is not None:
        return None  # these orders have no clock at all
    times = await policy_for(session, order.severity)
    return None if times is None else now + timedelta(seconds=times.resolve_s)


async def _apply(
    session: AsyncSession,
    *,
    site: Site,
    order: WorkOrder,
    action: Action,
    version: int,
    values: Mapping[str, object],
    actor: str,
    note: str,
    on_behalf_of: str | None,
    now: datetime,
) -> WorkOrder:
    """Write ``values`` if nobody changed the order since ``version``; audit and notify."""
    from_status, from_assignee = order.status, order.assignee
    updated = await update_if_unchanged(
        session, order_id=order.id, seen_version=version, values=values, now=now
    )
    if updated is None:
        # Someone else's change committed between our read and our write: theirs stands.
        current = await _load(session, order.id)
        raise StaleOrderError(
            order_id=order.id, seen=version, version=current.version, status=current.status
        )
    add_transition(
        session,
        order=updated,
        action=action,
        from_status=from_status,
        from_assignee=from_assignee,
        actor=actor,
        on_behalf_of=on_behalf_of,
        note=note,
        at=now,
    )
    change = OrderChange.of(updated, kind=_CHANGE_OF[action], at=now, reason=note)
    await record_changes(session, site=site, changes=[change], now=now)
    await session.flush()
    return updated
