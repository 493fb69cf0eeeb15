"""``GET/POST /api/v1/rosters`` and ``DELETE /api/v1/rosters/{shift_id}``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from alerts.errors import InvalidScheduleError
from alerts.escalation.rosters import add_shift, delete_shift, list_shifts
from api.deps import AdminDep, SessionDep, SiteDep
from api.errors import NotFoundError
from api.escalation.errors import http_error
from api.schemas import ApiModel, ErrorOut, UtcTimestamp
from core.clock import utcnow

router = APIRouter(prefix="/api/v1/rosters", tags=["SLA and escalation"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    422: {"model": ErrorOut},
    503: {"model": ErrorOut},
}
IdField = Annotated[str, Field(min_length=1, max_length=64)]


class ShiftIn(BaseModel):
    """One member of a grid team on duty in [starts_at, ends_at)."""

    model_config = ConfigDict(extra="forbid")

    team_id: IdField
    member_id: IdField
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class ShiftOut(ApiModel):
    """A stored shift."""

    id: int
    team_id: str
    member_id: str
    starts_at: UtcTimestamp
    ends_at: UtcTimestamp
    created_by: str
    created_at: UtcTimestamp


@router.get("", summary="Duty roster shifts, earliest first", responses=_ERRORS)
async def list_shifts_route(
    _admin: AdminDep,
    session: SessionDep,
    team_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    at: Annotated[AwareDatetime | None, Query()] = None,
) -> list[ShiftOut]:
    """Every shift, or one team's, or those running at ``at``."""
    rows = await list_shifts(session, team_id=team_id, at=at)
    return [ShiftOut.model_validate(row) for row in rows]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add a shift", responses=_ERRORS)
async def add_shift_route(
    body: ShiftIn, admin: AdminDep, session: SessionDep, site: SiteDep
) -> ShiftOut:
    """The member must belong to the team (site file); routes the next order at once."""
    try:
        async with session.begin():
            row = await add_shift(
                session,
                site=site,
                team_id=body.team_id,
                member_id=body.member_id,
                starts_at=body.starts_at,
                ends_at=body.ends_at,
                created_by=admin.subject,
                now=utcnow(),
            )
            out = ShiftOut.model_validate(row)
    except InvalidScheduleError as exc:
        raise http_error(exc) from exc
    return out


@router.delete(
    "/{shift_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a shift",
    responses={404: {"model": ErrorOut}, **_ERRORS},
)
async def delete_shift_route(shift_id: int, _admin: AdminDep, session: SessionDep) -> Response:
    """Orders already routed keep their assignee."""
    async with session.begin():
        deleted = await delete_shift(session, shift_id=shift_id)
    if not deleted:
        raise NotFoundError(kind="roster shift", key=shift_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
