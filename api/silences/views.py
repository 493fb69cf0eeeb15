"""``GET/POST /api/v1/silences`` and ``DELETE /api/v1/silences/{silence_id}``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import AwareDatetime, Field

from alerts.escalation.silences import create_silence, delete_silence
from api.deps import AdminDep, NowDep, SessionDep, SiteDep
from api.listing import PageDep
from api.responses import ITEM_ERRORS, REQUEST_ERRORS
from api.schedules import ScheduleIn, ScheduleKind, ScheduleOut
from api.schemas import IdField, IdQuery, RowIdPath
from storage.relational.sla_models import Silence, SilenceScope

router = APIRouter(prefix="/api/v1/silences", tags=["SLA and escalation"])

#: Longest reason accepted (a paragraph, not a document).
MAX_REASON_CHARS = 2000

SILENCES = ScheduleKind(
    noun="silence",
    entity=Silence,
    remove=lambda session, silence_id: delete_silence(session, silence_id=silence_id),
)


class SilenceIn(ScheduleIn):
    """A maintenance window for a device, building or grid."""

    scope_kind: SilenceScope
    scope_id: IdField
    reason: str = Field(default="", max_length=MAX_REASON_CHARS)


class SilenceOut(ScheduleOut):
    """A stored silence."""

    scope_kind: SilenceScope
    scope_id: str
    reason: str


@router.get("", summary="Silences, soonest first", responses=REQUEST_ERRORS)
async def list_silences_route(
    response: Response,
    _admin: AdminDep,
    session: SessionDep,
    page: PageDep,
    active_at: Annotated[AwareDatetime | None, Query()] = None,
    scope_kind: SilenceScope | None = None,
    scope_id: IdQuery = None,
) -> list[SilenceOut]:
    """Every silence, or those active at ``active_at`` / of one scope."""
    listing = await SILENCES.list_page(
        session,
        page=page,
        at=active_at,
        scope_kind=None if scope_kind is None else scope_kind.value,
        scope_id=scope_id,
    )
    return listing.answer(response, SilenceOut.model_validate)


@router.post(
    "", status_code=status.HTTP_201_CREATED, summary="Add a silence", responses=REQUEST_ERRORS
)
async def create_silence_route(
    body: SilenceIn, admin: AdminDep, session: SessionDep, site: SiteDep, now: NowDep
) -> SilenceOut:
    """Faults inside the window are recorded but page nobody and get no SLA clock."""
    row = await create_silence(
        session,
        site=site,
        scope_kind=body.scope_kind,
        scope_id=body.scope_id,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        reason=body.reason,
        created_by=admin.subject,
        now=now,
    )
    return SilenceOut.model_validate(row)


@router.delete(
    "/{silence_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a silence",
    responses=ITEM_ERRORS,
)
async def delete_silence_route(
    silence_id: RowIdPath, _admin: AdminDep, session: SessionDep
) -> Response:
    """Orders already opened inside it stay silenced."""
    return await SILENCES.delete(session, silence_id)
