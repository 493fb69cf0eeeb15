"""Read queries behind the work-order routes (the api reads the relational store directly)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.pagination import Page
from storage.relational.models import OrderStatus, WorkOrder


@dataclass(frozen=True, slots=True)
class WorkOrderFilter:
    """Which orders to list; every field set narrows the result (AND)."""

    statuses: Collection[OrderStatus] = ()
    device_id: str | None = None
    team_id: str | None = None
    grid_id: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        """SQL conditions for the fields that are set."""
        conditions: list[ColumnElement[bool]] = []
        if self.statuses:
            conditions.append(WorkOrder.status.in_([status.value for status in self.statuses]))
        if self.device_id is not None:
            conditions.append(WorkOrder.device_id == self.device_id)
        if self.team_id is not None:
            conditions.append(WorkOrder.team_id == self.team_id)
        if self.grid_id is not None:
            conditions.append(WorkOrder.grid_id == self.grid_id)
        return conditions


@dataclass(frozen=True, slots=True)
class WorkOrderPage:
    """One page of orders and how many match in total."""

    orders: list[WorkOrder]
    total: int


async def list_work_orders(
    session: AsyncSession, *, where: WorkOrderFilter, page: Page
) -> WorkOrderPage:
    """Matching orders, newest first (ties broken by id, so paging is stable)."""
    conditions: list[Any] = where.conditions()
    rows = await session.scalars(
        select(WorkOrder)
        .where(*conditions)
        .order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc())
        .limit(page.limit)
        .offset(page.offset)
    )
    total = await session.scalar(select(func.count()).select_from(WorkOrder).where(*conditions))
    return WorkOrderPage(orders=list(rows.all()), total=total or 0)


async def get_work_order(session: AsyncSession, *, order_id: int) -> WorkOrder | None:
    """One order by id, or None."""
    return await session.get(WorkOrder, order_id)
