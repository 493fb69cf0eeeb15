"""``GET /api/v1/workorders`` and ``GET /api/v1/workorders/{order_id}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import AdminDep, SessionDep
from api.errors import NotFoundError
from api.pagination import TOTAL_COUNT_HEADER, PageDep
from api.schemas import ErrorOut
from api.workorders.schemas import WorkOrderOut
from api.workorders.service import WorkOrderFilter, get_work_order, list_work_orders
from storage.relational.models import OrderStatus

router = APIRouter(prefix="/api/v1/workorders", tags=["work orders"])

IdQuery = Annotated[str | None, Query(min_length=1, max_length=64)]


@router.get(
    "",
    summary="Work orders, newest first",
    responses={401: {"model": ErrorOut}, 422: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
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
    result = await list_work_orders(session, where=where, page=page)
    response.headers[TOTAL_COUNT_HEADER] = str(result.total)
    return [WorkOrderOut.model_validate(order) for order in result.orders]


@router.get(
    "/{order_id}",
    summary="One work order",
    responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}, 503: {"model": ErrorOut}},
)
async def get_work_order_route(
    order_id: int, _admin: AdminDep, session: SessionDep
) -> WorkOrderOut:
    """The order, or 404."""
    order = await get_work_order(session, order_id=order_id)
    if order is None:
        raise NotFoundError(kind="work order", key=order_id)
    return WorkOrderOut.model_validate(order)
