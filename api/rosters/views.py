"""``GET/POST /api/v1/rosters`` and ``DELETE /api/v1/rosters/{shift_id}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import AwareDatetime

from alerts.escalation.rosters import add_shift, delete_shift
from api.deps import AdminDep, NowDep, SessionDep, SiteDep
from api.listing import PageDep
from api.responses import ITEM_ERRORS, REQUEST_ERRORS
from api.schedules import ScheduleIn, ScheduleKind, ScheduleOut
from api.schemas import IdField, IdQuery, RowIdPath
from storage.relational.sla_models import DutyRoster

router = APIRouter(prefix="/api/v1/rosters", tags=["SLA and escalation"])

SHIFTS = ScheduleKind(
    noun="roster shift",
    entity=DutyRoster,
    remove=lambda session, shift_id: delete_shift(session, shift_id=shift_id),
)


class ShiftIn(ScheduleIn):
    """One member of a grid team on duty in [starts_at, ends_at)."""

    team_id: IdField
    member_id: IdField


class ShiftOut(ScheduleOut):
    """A stored shift."""

    team_id: str
    member_id: str


@router.get("", summary="Duty roster shifts, earliest first", responses=REQUEST_ERRORS)
async def list_shifts_route(
    response: Response,
    _admin: AdminDep,
    session: SessionDep,
    page: PageDep,
    team_id: IdQuery = None,
    at: Annotated[AwareDatetime | None, Query()] = None,
) -> list[ShiftOut]:
    """Every shift, or one team's, or those running at ``at``."""
    listing = await SHIFTS.list_page(session, page=page, at=at, team_id=team_id)
    return listing.answer(response, ShiftOut.model_validate)


@router.post(
    "", status_code=status.HTTP_201_CREATED, summary="Add a shift", responses=REQUEST_ERRORS
)
async def add_shift_route(
    body: ShiftIn, admin: AdminDep, session: SessionDep, site: SiteDep, now: NowDep
) -> ShiftOut:
    """The member must belong to the team (site file); routes the next order at once."""
    row = await add_shift(
        session,
        site=site,
        team_id=body.team_id,
        member_id=body.member_id,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        created_by=admin.subject,
        now=now,
    )
    return ShiftOut.model_validate(row)


@router.delete(
    "/{shift_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a shift",
    responses=ITEM_ERRORS,
)
async def delete_shift_route(
    shift_id: RowIdPath, _admin: AdminDep, session: SessionDep
) -> Response:
    """Orders already routed keep their assignee."""
    return await SHIFTS.delete(session, shift_id)
