"""Reads behind the escalation routes: an order's department dispatches."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.escalation.departments import list_dispatches
from api.workorders.queries import get_work_order
from storage.relational.sla_models import DepartmentDispatch


async def order_dispatches(session: AsyncSession, *, order_id: int) -> list[DepartmentDispatch]:
    """The departments dispatched for an existing order (404 when there is no such order)."""
    await get_work_order(session, order_id=order_id)
    return await list_dispatches(session, order_id=order_id)


async def get_dispatch(
    session: AsyncSession, *, order_id: int, department_id: str
) -> DepartmentDispatch:
    """The dispatch of one department for an order; the caller knows it exists."""
    query = select(DepartmentDispatch).where(
        DepartmentDispatch.order_id == order_id,
        DepartmentDispatch.department_id == department_id,
    )
    return (await session.scalars(query)).one()
