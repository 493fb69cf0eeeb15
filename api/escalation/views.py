"""``POST /api/v1/workorders/{id}/hand-back``, department dispatches and their acknowledgement."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from alerts.escalation.departments import acknowledge_department
from alerts.escalation.sweep import hand_back
from alerts.notifications.outbox import record_changes
from api.deps import AdminDep, NowDep, SessionDep, SiteDep
from api.escalation.queries import get_dispatch, order_dispatches
from api.responses import COMMAND_ERRORS, LOOKUP_ERRORS
from api.schemas import MAX_ROW_NUMBER, ApiModel, RowIdPath, UtcTimestamp
from api.workorders.queries import get_work_order
from api.workorders.schemas import WorkOrderOut
from governance.model import Tier

router = APIRouter(prefix="/api/v1/workorders", tags=["SLA and escalation"])

#: Longest hand-back reason accepted (a paragraph, not a document).
MAX_REASON_CHARS = 2000


class HandBackIn(BaseModel):
    """Hand an escalated order down to a lower tier."""

    model_config = ConfigDict(extra="forbid")

    to_tier: Tier
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS)
    version: int = Field(ge=1, le=MAX_ROW_NUMBER)


class DispatchOut(ApiModel):
    """A department called out for an order."""

    department_id: str
    dispatched_at: UtcTimestamp
    ack_due_at: UtcTimestamp
    acknowledged_at: UtcTimestamp | None
    acknowledged_by: str | None
    reminders: int


@router.post(
    "/{order_id}/hand-back", summary="Hand the order down a tier", responses=COMMAND_ERRORS
)
async def hand_back_route(
    order_id: RowIdPath,
    body: HandBackIn,
    admin: AdminDep,
    session: SessionDep,
    site: SiteDep,
    now: NowDep,
) -> WorkOrderOut:
    """The clock restarts at ``to_tier``; 409 on a stale version or a tier not below."""
    await hand_back(
        session,
        site=site,
        order_id=order_id,
        to_tier=body.to_tier,
        reason=body.reason,
        version=body.version,
        by=admin.subject,
        now=now,
    )
    return WorkOrderOut.model_validate(await get_work_order(session, order_id=order_id))


@router.get("/{order_id}/departments", summary="Departments dispatched", responses=LOOKUP_ERRORS)
async def list_dispatches_route(
    order_id: RowIdPath, _admin: AdminDep, session: SessionDep
) -> list[DispatchOut]:
    """Each department called out for the order, with its acknowledge clock."""
    rows = await order_dispatches(session, order_id=order_id)
    return [DispatchOut.model_validate(row) for row in rows]


@router.post(
    "/{order_id}/departments/{department_id}/ack",
    summary="A department acknowledges its dispatch",
    responses=COMMAND_ERRORS,
)
async def acknowledge_department_route(
    order_id: RowIdPath,
    department_id: str,
    admin: AdminDep,
    session: SessionDep,
    site: SiteDep,
    now: NowDep,
) -> DispatchOut:
    """Stops the department's reminders; 409 if it already acknowledged."""
    change = await acknowledge_department(
        session, order_id=order_id, department_id=department_id, by=admin.subject, now=now
    )
    await record_changes(session, site=site, changes=[change], now=now)
    row = await get_dispatch(session, order_id=order_id, department_id=department_id)
    return DispatchOut.model_validate(row)
