"""``GET/POST /api/v1/silences`` and ``DELETE /api/v1/silences/{silence_id}``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from alerts.errors import InvalidScheduleError
from alerts.escalation.silences import create_silence, delete_silence, list_silences
from api.deps import AdminDep, SessionDep, SiteDep
from api.errors import NotFoundError
from api.escalation.errors import http_error
from api.schemas import ApiModel, ErrorOut, UtcTimestamp
from core.clock import utcnow
from storage.relational.sla_models import SilenceScope

router = APIRouter(prefix="/api/v1/silences", tags=["SLA and escalation"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    422: {"model": ErrorOut},
    503: {"model": ErrorOut},
}


class SilenceIn(BaseModel):
    """A maintenance window for a device, building or grid."""

    model_config = ConfigDict(extra="forbid")

    scope_kind: SilenceScope
    scope_id: str = Field(min_length=1, max_length=64)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: str = Field(default="", max_length=2000)


class SilenceOut(ApiModel):
    """A stored silence."""

    id: int
    scope_kind: SilenceScope
    scope_id: str
    starts_at: UtcTimestamp
    ends_at: UtcTimestamp
    reason: str
    created_by: str
    created_at: UtcTimestamp


@router.get("", summary="Silences, soonest first", responses=_ERRORS)
async def list_silences_route(
    _admin: AdminDep,
    session: SessionDep,
    active_at: Annotated[AwareDatetime | None, Query()] = None,
    scope_kind: SilenceScope | None = None,
    scope_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> list[SilenceOut]:
    """Every silence, or those active at ``active_at`` / of one scope."""
    rows = await list_silences(
        session, active_at=active_at, scope_kind=scope_kind, scope_id=scope_id
    )
    return [SilenceOut.model_validate(row) for row in rows]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add a silence", responses=_ERRORS)
async def create_silence_route(
    body: SilenceIn, admin: AdminDep, session: SessionDep, site: SiteDep
) -> SilenceOut:
    """Faults inside the window are recorded but page nobody and get no SLA clock."""
    try:
        async with session.begin():
            row = await create_silence(
                session,
                site=site,
                scope_kind=body.scope_kind,
                scope_id=body.scope_id,
                starts_at=body.starts_at,
                ends_at=body.ends_at,
                reason=body.reason,
                created_by=admin.subject,
                now=utcnow(),
            )
            out = SilenceOut.model_validate(row)
    except InvalidScheduleError as exc:
        raise http_error(exc) from exc
    return out


@router.delete(
    "/{silence_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a silence",
    responses={404: {"model": ErrorOut}, **_ERRORS},
)
async def delete_silence_route(silence_id: int, _admin: AdminDep, session: SessionDep) -> Response:
    """Orders already opened inside it stay silenced."""
    async with session.begin():
        deleted = await delete_silence(session, silence_id=silence_id)
    if not deleted:
        raise NotFoundError(kind="silence", key=silence_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
