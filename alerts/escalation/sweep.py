"""The escalation sweep: missed deadlines move orders up a tier; unacknowledged ones are reminded.

"Small things don't leave the grid, big things don't leave the community": an order starts at
the grid; a missed acknowledge or resolve deadline moves it one tier up (grid → community →
street), records ``escalated_at``, notifies that tier (an ``escalated`` fact) and restarts the
clock with the severity's policy. At the street it stays, and each missed deadline becomes a
``reminded`` fact instead. Unacknowledged orders are reminded every ``reminder_s``. Silenced and
linked orders have no clock, so the sweep never sees them.

Any number of replicas may sweep at once. On PostgreSQL the candidates are selected ``FOR UPDATE
SKIP LOCKED``, so replicas split the work; on every database each step is a guarded update
(``alerts.orders.versioned``), so a row another sweeper has already moved is left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import HandBackError, OrderNotFoundError, StaleOrderError
from alerts.escalation.departments import remind_departments
from alerts.escalation.sla import (
    NO_CLOCK,
    UNACKNOWLEDGED,
    UNRESOLVED,
    SlaTimes,
    clock_values,
    load_policies,
    policy_for,
)
from alerts.notifications.outbox import record_changes
from alerts.orders.changes import ChangeKind, OrderChange
from alerts.orders.versioned import update_if_unchanged
from governance.model import Site, Tier
from storage.relational.models import OrderStatus, WorkOrder

log = logging.getLogger(__name__)

#: The ladder; the street has no tier above it.
NEXT_TIER: Mapping[str, str] = MappingProxyType(
    {Tier.GRID.value: Tier.COMMUNITY.value, Tier.COMMUNITY.value: Tier.STREET.value}
)
TIER_RANK: Mapping[str, int] = MappingProxyType(
    {Tier.GRID.value: 0, Tier.COMMUNITY.value: 1, Tier.STREET.value: 2}
)


class Reason(StrEnum):
    """Why the sweep touched an order (the ``reason`` of its fact)."""

    ACK_OVERDUE = "ack_overdue"
    RESOLVE_OVERDUE = "resolve_overdue"
    UNACKNOWLEDGED = "unacknowledged"  # a plain reminder


def _due(now: datetime) -> ColumnElement[bool]:
    waiting = WorkOrder.status == OrderStatus.OPEN.value
    return and_(
        WorkOrder.silenced.is_(False),
        WorkOrder.parent_id.is_(None),
        or_(
            and_(waiting, WorkOrder.ack_due_at <= now),
            and_(WorkOrder.status.in_(UNRESOLVED), WorkOrder.resolve_due_at <= now),
            and_(waiting, WorkOrder.next_reminder_at <= now),
        ),
    )


def _missed(order: WorkOrder, now: datetime) -> Reason | None:
    if order.status in UNACKNOWLEDGED and order.ack_due_at is not None and order.ack_due_at <= now:
        return Reason.ACK_OVERDUE
    if (
        order.status in UNRESOLVED
        and order.resolve_due_at is not None
        and order.resolve_due_at <= now
    ):
        return Reason.RESOLVE_OVERDUE
    return None


def _step_values(
    order: WorkOrder, times: SlaTimes, now: datetime
) -> tuple[ChangeKind, Reason, dict[str, object]]:
    """What the sweep does to one due order: escalate, or remind (at the street, or plainly)."""
    reminder_at = now + timedelta(seconds=times.reminder_s)
    missed = _missed(order, now)
    if missed is not None and order.tier in NEXT_TIER:
        values: dict[str, object] = {
            "tier": NEXT_TIER[order.tier],
            "escalated_at": now,
            **clock_values(status=order.status, times=times, now=now),
        }
        return ChangeKind.ESCALATED, missed, values
    waiting = order.status in UNACKNOWLEDGED
    values = {"next_reminder_at": reminder_at if waiting else None}
    if missed is Reason.ACK_OVERDUE:
        values["ack_due_at"] = None  # nobody above the street; the reminders carry on
    elif missed is Reason.RESOLVE_OVERDUE:
        values["resolve_due_at"] = now + timedelta(seconds=times.resolve_s)
    return ChangeKind.REMINDED, missed or Reason.UNACKNOWLEDGED, values


async def _sweep_one(
    session: AsyncSession, order: WorkOrder, policies: Mapping[str, SlaTimes], now: datetime
) -> OrderChange | None:
    times = policies.get(order.severity)
    if times is None:
        log.warning(
            "alerts: no SLA policy for %s order %d; its clock stops", order.severity, order.id
        )
        await update_if_unchanged(
            session, order_id=order.id, seen_version=order.version, values=NO_CLOCK, now=now
        )
        return None
    from_tier = order.tier
    kind, reason, values = _step_values(order, times, now)
    updated = await update_if_unchanged(
        session, order_id=order.id, seen_version=order.version, values=values, now=now
    )
    if updated is None:
        return None  # another sweeper or a person changed it first
    return OrderChange.of(
        updated,
        kind=kind,
        at=now,
        from_tier=from_tier if kind is ChangeKind.ESCALATED else None,
        reason=reason.value,
    )


async def sweep(
    session: AsyncSession, *, site: Site, now: datetime, limit: int
) -> tuple[list[OrderChange], int]:
    """One batch in the caller's transaction: the facts recorded, and how many rows were due."""
    skip_locked = session.get_bind().dialect.name == "postgresql"
    policies = await load_policies(session)
    query = (
        select(WorkOrder)
        .where(_due(now))
        .order_by(WorkOrder.priority.desc(), WorkOrder.id)
        .limit(limit)
        .execution_options(populate_existing=True)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    orders = list((await session.scalars(query)).all())
    changes: list[OrderChange] = []
    for order in orders:
        change = await _sweep_one(session, order, policies, now)
        if change is not None:
            changes.append(change)
    changes.extend(
        await remind_departments(
            session, policies=policies, now=now, limit=limit, skip_locked=skip_locked
        )
    )
    await record_changes(session, site=site, changes=changes, now=now)
    return changes, len(orders)


async def hand_back(
    session: AsyncSession,
    *,
    site: Site,
    order_id: int,
    to_tier: Tier,
    reason: str,
    version: int,
    by: str,
    now: datetime,
) -> OrderChange:
    """A higher tier hands the order down to ``to_tier``; the clock restarts there."""
    order = await session.get(WorkOrder, order_id, populate_existing=True)
    if order is None:
        raise OrderNotFoundError(order_id)
    if order.version != version:
        raise StaleOrderError(
            order_id=order_id, seen=version, version=order.version, status=order.status
        )
    if order.status not in UNRESOLVED:
        raise HandBackError(order_id=order_id, reason=f"it is {order.status}")
    if TIER_RANK[to_tier.value] >= TIER_RANK[order.tier]:
        raise HandBackError(
            order_id=order_id,
            reason=f"it is at the {order.tier} tier; it can only go down, not to {to_tier.value}",
        )
    times = await policy_for(session, order.severity)
    clock: Mapping[str, object] = NO_CLOCK
    if times is not None and not order.silenced and order.parent_id is None:
        clock = clock_values(status=order.status, times=times, now=now)
    from_tier = order.tier
    updated = await update_if_unchanged(
        session,
        order_id=order_id,
        seen_version=version,
        values={"tier": to_tier.value, **clock},
        now=now,
    )
    if updated is None:
        await session.refresh(order)
        raise StaleOrderError(
            order_id=order_id, seen=version, version=order.version, status=order.status
        )
    log.info("alerts: order %d handed back %s → %s by %s", order_id, from_tier, to_tier, by)
    change = OrderChange.of(
        updated, kind=ChangeKind.HANDED_BACK, at=now, from_tier=from_tier, reason=reason
    )
    await record_changes(session, site=site, changes=[change], now=now)
    return change
