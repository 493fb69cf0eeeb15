"""Reads behind the work-order routes (the api reads the relational store directly)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import NotFoundError
from api.listing import Condition, Listing, Page, equals, fetch_page, one_of
from storage.relational.models import OrderStatus, WorkOrder


@dataclass(frozen=True, slots=True)
class WorkOrderFilter:
    """Which orders to list; every field set narrows the result (AND).

    ``device_ids`` is how a facility-type filter arrives: the site's devices of that type
    (None: no such filter; empty: the site has none, so nothing matches).
    """

    statuses: Collection[OrderStatus] = ()
    device_id: str | None = None
    team_id: str | None = None
    grid_id: str | None = None
    assignee: str | None = None
    tier: str | None = None
    device_ids: Collection[str] | None = None
    created_from: datetime | None = None
    created_before: datetime | None = None

    def conditions(self) -> list[Condition]:
        """One condition per field (None for the fields that are not set)."""
        return [
            one_of(WorkOrder.status, [status.value for status in self.statuses]),
            equals(WorkOrder.device_id, self.device_id),
            equals(WorkOrder.team_id, self.team_id),
            equals(WorkOrder.grid_id, self.grid_id),
            equals(WorkOrder.assignee, self.assignee),
            equals(WorkOrder.tier, self.tier),
            None if self.device_ids is None else WorkOrder.device_id.in_(self.device_ids),
            None if self.created_from is None else WorkOrder.created_at >= self.created_from,
            None if self.created_before is None else WorkOrder.created_at < self.created_before,
        ]


async def list_work_orders(
    session: AsyncSession, *, where: WorkOrderFilter, page: Page
) -> Listing[WorkOrder]:
    """Matching orders, newest first (ties broken by id, so paging is stable)."""
    return await fetch_page(
        session,
        WorkOrder,
        where=where.conditions(),
        order_by=(WorkOrder.created_at.desc(), WorkOrder.id.desc()),
        page=page,
    )


async def get_work_order(session: AsyncSession, *, order_id: int) -> WorkOrder:
    """One order by id; 404 when there is none."""
    order = await session.get(WorkOrder, order_id)
    if order is None:
        raise NotFoundError(kind="work order", key=order_id)
    return order
