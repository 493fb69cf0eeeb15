"""``/api/v1/notification-endpoints`` (list, create, delete) and ``/api/v1/outbox`` (dead letters).

Secrets are write-only: responses say whether one is set, never what it is, and the query
of a robot URL (WeCom ``key``, DingTalk ``access_token``) is masked.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select

from api.deps import AdminDep, SessionDep, SiteDep
from api.errors import InvalidRequestError, NotFoundError
from api.pagination import TOTAL_COUNT_HEADER, PageDep
from api.schemas import ApiModel, ErrorOut, UtcTimestamp
from core.clock import utcnow
from governance.model import Site
from storage.relational.outbox_models import (
    EndpointKind,
    NotificationEndpoint,
    OutboxMessage,
    OutboxState,
    ScopeKind,
)

router = APIRouter(prefix="/api/v1", tags=["notifications"])

MASK = "***"
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut},
    422: {"model": ErrorOut},
    503: {"model": ErrorOut},
}


class EndpointIn(BaseModel):
    """A new endpoint."""

    model_config = ConfigDict(extra="forbid")

    kind: EndpointKind
    url: str = Field(max_length=2048)
    secret: str | None = Field(default=None, min_length=8, max_length=256)
    scope_kind: ScopeKind
    scope_id: str = Field(min_length=1, max_length=64)
    enabled: bool = True

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value


class EndpointOut(ApiModel):
    """An endpoint as the API shows it: no secret, robot keys masked."""

    id: int
    kind: str
    url: str
    has_secret: bool
    scope_kind: str
    scope_id: str
    enabled: bool
    created_at: UtcTimestamp

    @classmethod
    def of(cls, endpoint: NotificationEndpoint) -> EndpointOut:
        """The public view of a row."""
        return cls(
            id=endpoint.id,
            kind=endpoint.kind,
            url=_masked(endpoint.url),
            has_secret=bool(endpoint.secret),
            scope_kind=endpoint.scope_kind,
            scope_id=endpoint.scope_id,
            enabled=endpoint.enabled,
            created_at=endpoint.created_at,
        )


class OutboxOut(ApiModel):
    """One notification and how its delivery went."""

    id: int
    idempotency_key: str
    channel: str
    endpoint_id: int | None
    team_id: str | None
    order_id: int
    event: str
    state: str
    attempts: int
    created_at: UtcTimestamp
    next_attempt_at: UtcTimestamp
    delivered_at: UtcTimestamp | None
    dead_at: UtcTimestamp | None
    last_error: str | None


def _masked(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = urlencode([(name, MASK) for name, _ in parse_qsl(parts.query, keep_blank_values=True)])
    return urlunsplit(parts._replace(query=query, fragment=""))


def _check_scope(site: Site, scope_kind: ScopeKind, scope_id: str) -> None:
    known: set[str] = {
        ScopeKind.TEAM: set(site.teams),
        ScopeKind.GRID: set(site.grids),
        ScopeKind.COMMUNITY: set(site.communities),
        ScopeKind.STREET: {site.street.id},
        ScopeKind.DEPARTMENT: set(site.departments),
    }[scope_kind]
    if scope_id not in known:
        choices = ", ".join(sorted(known)) or "none in this site"
        raise InvalidRequestError(f"unknown {scope_kind} {scope_id!r}; known: {choices}")


@router.get("/notification-endpoints", summary="Notification endpoints", responses=_ERRORS)
async def list_endpoints_route(_admin: AdminDep, session: SessionDep) -> list[EndpointOut]:
    """Every endpoint, oldest first."""
    rows = await session.scalars(select(NotificationEndpoint).order_by(NotificationEndpoint.id))
    return [EndpointOut.of(row) for row in rows]


@router.post(
    "/notification-endpoints",
    summary="Add a notification endpoint",
    status_code=201,
    responses=_ERRORS,
)
async def create_endpoint_route(
    body: EndpointIn, _admin: AdminDep, session: SessionDep, site: SiteDep
) -> EndpointOut:
    """Validate the scope against the site and store the endpoint."""
    _check_scope(site, body.scope_kind, body.scope_id)
    endpoint = NotificationEndpoint(
        kind=body.kind.value,
        url=body.url,
        secret=body.secret,
        scope_kind=body.scope_kind.value,
        scope_id=body.scope_id,
        enabled=body.enabled,
        created_at=utcnow(),
    )
    session.add(endpoint)
    await session.commit()
    return EndpointOut.of(endpoint)


@router.delete(
    "/notification-endpoints/{endpoint_id}",
    summary="Delete a notification endpoint",
    status_code=204,
    responses={**_ERRORS, 404: {"model": ErrorOut}},
)
async def delete_endpoint_route(
    endpoint_id: int, _admin: AdminDep, session: SessionDep
) -> Response:
    """Delete it; its undelivered notifications are dead-lettered by the relay."""
    endpoint = await session.get(NotificationEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFoundError(kind="notification endpoint", key=endpoint_id)
    await session.delete(endpoint)
    await session.commit()
    return Response(status_code=204)


@router.get(
    "/outbox",
    summary="Notifications and their delivery state (e.g. state=dead for dead letters)",
    responses=_ERRORS,
)
async def list_outbox_route(
    response: Response,
    _admin: AdminDep,
    session: SessionDep,
    page: PageDep,
    state: Annotated[OutboxState | None, Query()] = None,
    order_id: Annotated[int | None, Query(ge=1)] = None,
) -> list[OutboxOut]:
    """Newest first; ``X-Total-Count`` carries the number before paging."""
    query = select(OutboxMessage)
    if state is not None:
        query = query.where(OutboxMessage.state == state.value)
    if order_id is not None:
        query = query.where(OutboxMessage.order_id == order_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    response.headers[TOTAL_COUNT_HEADER] = str(total or 0)
    rows = await session.scalars(
        query.order_by(OutboxMessage.id.desc()).limit(page.limit).offset(page.offset)
    )
    return [OutboxOut.model_validate(row) for row in rows]


__all__ = ["router"]
