"""``GET /api/v1/workorders`` and ``GET /api/v1/workorders/{order_id}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import AdminDep, SessionDep
from api.listing import PageDep
from api.responses import LOOKUP_ERRORS, REQUEST_ERRORS
from api.schemas import IdQuery, RowIdPath
from api.workorders.queries import WorkOrderFilter, get_work_order, list_work_orders
from api.workorders.schemas import WorkOrderOut
from storage.relational.models import OrderStatus

router = APIRouter(prefix="/api/v1/workorders", tags=["work orders"])


@router.get("", summary="Work orders, newest first", responses=REQUEST_ERRORS)
async def list_work_orders_route(
    response: Response,
    _admin: AdminDep,
    session: SessionDep,
    page: PageDep,
    status: Annotated[
        list[OrderStatus] | None,
        Query(description="repeat to match any of several, e.g. status=open&status=acknowledged"),
    ] = None,
    device_id: IdQuery = None,
    team_id: IdQuery = None,
    grid_id: IdQuery = None,
) -> list[WorkOrderOut]:
    """A page of matching orders; ``X-Total-Count`` carries the number before paging."""
    where = WorkOrderFilter(
        statuses=tuple(status or ()), device_id=device_id, team_id=team_id, grid_id=grid_id
    )
    listing = await list_work_orders(session, where=where, page=page)
    return listing.answer(response, WorkOrderOut.model_validate)


@router.get("/{order_id}", summary="One work order", responses=LOOKUP_ERRORS)
async def get_work_order_route(
    order_id: RowIdPath, _admin: AdminDep, session: SessionDep
) -> WorkOrderOut:
    """The order, or 404."""
    return WorkOrderOut.model_validate(await get_work_order(session, order_id=order_id))
