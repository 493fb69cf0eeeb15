"""Changes behind the notification-endpoint routes; they run in the request's unit of work."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import InvalidRequestError, NotFoundError
from api.notifications.schemas import EndpointIn
from governance.model import Site
from storage.relational.outbox_models import NotificationEndpoint, ScopeKind


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


async def add_endpoint(
    session: AsyncSession, *, site: Site, body: EndpointIn, now: datetime
) -> NotificationEndpoint:
    """Store a new endpoint whose scope exists in the site file."""
    _check_scope(site, body.scope_kind, body.scope_id)
    endpoint = NotificationEndpoint(
        kind=body.kind.value,
        url=body.url,
        secret=body.secret,
        scope_kind=body.scope_kind.value,
        scope_id=body.scope_id,
        enabled=body.enabled,
        language=body.language,
        created_at=now,
    )
    session.add(endpoint)
    await session.flush()  # assigns the id the response shows
    return endpoint


async def delete_endpoint(session: AsyncSession, *, endpoint_id: int) -> None:
    """Remove an endpoint; 404 when there is none with that id."""
    endpoint = await session.get(NotificationEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFoundError(kind="notification endpoint", key=endpoint_id)
    await session.delete(endpoint)
