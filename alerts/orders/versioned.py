"""The one writer of ``work_orders`` after the INSERT: every UPDATE goes through here.

Each update bumps ``version`` (clients send it back; a command on an older one answers 409)
and applies only where its conditions still hold, returning the row or None. An order's own
INSERT stays version 1 because everything it needs is decided before it is written
(``alerts.orders.opening``). The common guard is :func:`update_if_unchanged`: ``UPDATE …
WHERE id = :id AND version = :seen`` matches nothing when another replica or a person got
there first — on SQLite, whose writers queue on the database lock, and on PostgreSQL, which
re-checks the condition once a row lock is released.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import OpenOrderConflictError
from storage.relational.models import WorkOrder


async def update_order(
    session: AsyncSession,
    *where: ColumnElement[bool],
    values: Mapping[str, object],
    now: datetime,
) -> WorkOrder | None:
    """Apply ``values`` to the order matching ``where`` and bump its version; None if none."""
    updated = await update_orders(session, *where, values=values, now=now)
    return updated[0] if updated else None


async def update_orders(
    session: AsyncSession,
    *where: ColumnElement[bool],
    values: Mapping[str, object],
    now: datetime,
) -> list[WorkOrder]:
    """Apply ``values`` to every order matching ``where`` and bump their versions (one UPDATE;
    a value may be a CASE over the order id); the orders updated."""
    statement = (
        update(WorkOrder)
        .where(*where)
        .values(**values, updated_at=now, version=WorkOrder.version + 1)
        .returning(WorkOrder)
        .execution_options(populate_existing=True)
    )
    return list(await session.scalars(statement))


async def update_if_unchanged(
    session: AsyncSession,
    *,
    order_id: int,
    seen_version: int,
    values: Mapping[str, object],
    now: datetime,
) -> WorkOrder | None:
    """Apply ``values`` and bump the version if the order is still at ``seen_version``."""
    return await update_order(
        session,
        WorkOrder.id == order_id,
        WorkOrder.version == seen_version,
        values=values,
        now=now,
    )


async def update_locked(
    session: AsyncSession, *, order: WorkOrder, values: Mapping[str, object], now: datetime
) -> WorkOrder:
    """Update an order this transaction holds row-locked (``locked_open_order``)."""
    updated = await update_if_unchanged(
        session, order_id=order.id, seen_version=order.version, values=values, now=now
    )
    if updated is None:  # only a writer ignoring the lock gets here
        raise OpenOrderConflictError(order.open_key or str(order.id))
    return updated


async def locked_open_order(session: AsyncSession, key: str) -> WorkOrder | None:
    """The order holding ``open_key`` (device or building), row-locked for this transaction."""
    query = (
        select(WorkOrder)
        .where(WorkOrder.open_key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    order: WorkOrder | None = await session.scalar(query)
    return order
