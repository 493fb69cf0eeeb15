"""``GET /api/v1/workorders`` (JSON or CSV) and ``GET /api/v1/workorders/{order_id}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime

from api.csv import CSV_RESPONSES, FormatQuery, ResponseFormat, csv_response
from api.deps import AdminDep, SessionDep, SiteDep
from api.errors import InvalidRequestError
from api.listing import TOTAL_COUNT_HEADER, PageDep
from api.responses import LOOKUP_ERRORS, REQUEST_ERRORS
from api.schemas import IdQuery, RowIdPath
from api.workorders.queries import WorkOrderFilter, get_work_order, list_work_orders
from api.workorders.schemas import WorkOrderOut
from governance.model import Site, Tier
from sensors.profiles import DEVICE_TYPES
from storage.relational.models import OrderStatus

router = APIRouter(prefix="/api/v1/workorders", tags=["work orders"])

#: Columns of the CSV export, in order (every field of the JSON body).
CSV_COLUMNS = tuple(WorkOrderOut.model_fields)
CSV_FILENAME = "workorders.csv"


def _devices_of_type(site: Site, device_type: str | None) -> frozenset[str] | None:
    if device_type is None:
        return None
    if device_type not in DEVICE_TYPES:
        raise InvalidRequestError(
            f"unknown device type {device_type!r}; valid types: {', '.join(sorted(DEVICE_TYPES))}"
        )
    return frozenset(d.id for d in site.devices.values() if d.type == device_type)


@router.get(
    "",
    summary="Work orders, newest first (JSON, or CSV with format=csv)",
    responses={**REQUEST_ERRORS, **CSV_RESPONSES},
    response_model=list[WorkOrderOut],
)
async def list_work_orders_route(
    response: Response,
    _admin: AdminDep,
    session: SessionDep,
    site: SiteDep,
    page: PageDep,
    status: Annotated[
        list[OrderStatus] | None,
        Query(description="repeat to match any of several, e.g. status=open&status=acknowledged"),
    ] = None,
    device_id: IdQuery = None,
    team_id: IdQuery = None,
    grid_id: IdQuery = None,
    assignee: Annotated[
        IdQuery, Query(description="team member id the order is assigned to")
    ] = None,
    tier: Tier | None = None,
    type: Annotated[
        str | None, Query(description=f"facility type: {', '.join(sorted(DEVICE_TYPES))}")
    ] = None,
    start: Annotated[
        AwareDatetime | None, Query(description="created at or after (RFC 3339)")
    ] = None,
    end: Annotated[AwareDatetime | None, Query(description="created before (RFC 3339)")] = None,
    format: FormatQuery = ResponseFormat.JSON,
) -> list[WorkOrderOut] | Response:
    """A page of matching orders; ``X-Total-Count`` carries the number before paging."""
    if start is not None and end is not None and start >= end:
        raise InvalidRequestError(f"start {start.isoformat()} must be before end {end.isoformat()}")
    where = WorkOrderFilter(
        statuses=tuple(status or ()),
        device_id=device_id,
        team_id=team_id,
        grid_id=grid_id,
        assignee=assignee,
        tier=tier.value if tier else None,
        device_ids=_devices_of_type(site, type),
        created_from=start,
        created_before=end,
    )
    listing = await list_work_orders(session, where=where, page=page)
    orders = listing.answer(response, WorkOrderOut.model_validate)
    if format is ResponseFormat.CSV:
        rows = [order.model_dump() for order in orders]
        headers = {TOTAL_COUNT_HEADER: str(listing.total)}
        return csv_response(rows, CSV_COLUMNS, filename=CSV_FILENAME, headers=headers)
    return orders


@router.get("/{order_id}", summary="One work order", responses=LOOKUP_ERRORS)
async def get_work_order_route(
    order_id: RowIdPath, _admin: AdminDep, session: SessionDep
) -> WorkOrderOut:
    """The order, or 404."""
    return WorkOrderOut.model_validate(await get_work_order(session, order_id=order_id))
