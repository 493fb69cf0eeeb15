"""Gauges read from the relational store at scrape time (cheap grouped counts)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.relational.models import OrderStatus, WorkOrder
from storage.relational.outbox_models import OutboxMessage

_FINISHED = (OrderStatus.CLOSED.value, OrderStatus.CANCELLED.value)


async def open_orders(session: AsyncSession) -> dict[tuple[str, str, str], int]:
    """Unfinished work orders by (tier, severity, status)."""
    rows = await session.execute(
        select(WorkOrder.tier, WorkOrder.severity, WorkOrder.status, func.count())
        .where(WorkOrder.status.not_in(_FINISHED))
        .group_by(WorkOrder.tier, WorkOrder.severity, WorkOrder.status)
    )
    return {(str(tier), str(sev), str(status)): n for tier, sev, status, n in rows}


async def outbox_states(session: AsyncSession) -> dict[str, int]:
    """Outbox rows by delivery state (pending is the backlog, dead the dead letters)."""
    rows = await session.execute(
        select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
    )
    return {str(state): n for state, n in rows}
