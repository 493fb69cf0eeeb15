"""``POST /api/v1/workorders/{id}/hand-back``, department dispatches and their acknowledgement."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from alerts.errors import AlertsError
from alerts.escalation.departments import acknowledge_department, list_dispatches
from alerts.escalation.sweep import hand_back
from alerts.notifications.outbox import record_changes
from api.deps import AdminDep, SessionDep, SiteDep
from api.errors import NotFoundError
from api.escalation.errors import http_error
from api.schemas import ApiModel, ErrorOut, UtcTimestamp
from api.workorders.schemas import WorkOrderOut
from core.clock import utcnow
from governance.model import Tier
from storage.relational.models import WorkOrder

router = APIRouter(prefix="/api/v1/workorders", tags=["SLA and escalation"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    404: {"model": ErrorOut},
    409: {"model": ErrorOut},
    422: {"model": ErrorOut},
    503: {"model": ErrorOut},
}


class HandBackIn(BaseModel):
    """Hand an escalated order down to a lower tier."""

    model_config = ConfigDict(extra="forbid")

    to_tier: Tier
    reason: str = Field(min_length=1, max_length=2000)
    version: int = Field(ge=1)


class DispatchOut(ApiModel):
    """A department called out for an order."""

    department_id: str
    dispatched_at: UtcTimestamp
    ack_due_at: UtcTimestamp
    acknowledged_at: UtcTimestamp | None
    acknowledged_by: str | None
    reminders: int


@router.post("/{order_id}/hand-back", summary="Hand the order down a tier", responses=_ERRORS)
async def hand_back_route(
    order_id: int, body: HandBackIn, admin: AdminDep, session: SessionDep, site: SiteDep
) -> WorkOrderOut:
    """The clock restarts at ``to_tier``; 409 on a stale version or a tier not below."""
    try:
        async with session.begin():
            await hand_back(
                session,
                site=site,
                order_id=order_id,
                to_tier=body.to_tier,
                reason=body.reason,
                version=body.version,
                by=admin.subject,
                now=utcnow(),
            )
            order = await session.get(WorkOrder, order_id)
            out = WorkOrderOut.model_validate(order)
    except AlertsError as exc:
        raise http_error(exc) from exc
    return out


@router.get("/{order_id}/departments", summary="Departments dispatched", responses=_ERRORS)
async def list_dispatches_route(
    order_id: int, _admin: AdminDep, session: SessionDep
) -> list[DispatchOut]:
    """Each department called out for the order, with its acknowledge clock."""
    if await session.get(WorkOrder, order_id) is None:
        raise NotFoundError(kind="work order", key=order_id)
    return [
        DispatchOut.model_validate(row) for row in await list_dispatches(session, order_id=order_id)
    ]


@router.post(
    "/{order_id}/departments/{department_id}/ack",
    summary="A department acknowledges its dispatch",
    responses=_ERRORS,
)
async def acknowledge_department_route(
    order_id: int, department_id: str, admin: AdminDep, session: SessionDep, site: SiteDep
) -> DispatchOut:
    """Stops the department's reminders; 409 if it already acknowledged."""
    now = utcnow()
    try:
        async with session.begin():
            change = await acknowledge_department(
                session, order_id=order_id, department_id=department_id, by=admin.subject, now=now
            )
            await record_changes(session, site=site, changes=[change], now=now)
            rows = await list_dispatches(session, order_id=order_id)
            (row,) = [r for r in rows if r.department_id == department_id]
            out = DispatchOut.model_validate(row)
    except AlertsError as exc:
        raise http_error(exc) from exc
    return out
