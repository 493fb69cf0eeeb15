"""``/api/v1/notification-endpoints`` (list, create, delete) and ``/api/v1/outbox`` (dead letters).

Secrets are write-only: responses say whether one is set, never what it is, and the query
of a robot URL (WeCom ``key``, DingTalk ``access_token``) is masked.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.deps import AdminDep, NowDep, SessionDep, SiteDep
from api.listing import PageDep
from api.notifications.commands import add_endpoint, delete_endpoint
from api.notifications.queries import list_endpoints, list_outbox
from api.notifications.schemas import EndpointIn, EndpointOut, OutboxOut
from api.responses import ITEM_ERRORS, REQUEST_ERRORS
from api.schemas import RowIdPath, RowIdQuery
from storage.relational.outbox_models import OutboxState

router = APIRouter(prefix="/api/v1", tags=["notifications"])


@router.get("/notification-endpoints", summary="Notification endpoints", responses=REQUEST_ERRORS)
async def list_endpoints_route(
    response: Response, _admin: AdminDep, session: SessionDep, page: PageDep
) -> list[EndpointOut]:
    """Every endpoint, oldest first; ``X-Total-Count`` carries the number before paging."""
    listing = await list_endpoints(session, page=page)
    return listing.answer(response, EndpointOut.of)


@router.post(
    "/notification-endpoints",
    summary="Add a notification endpoint",
    status_code=status.HTTP_201_CREATED,
    responses=REQUEST_ERRORS,
)
async def create_endpoint_route(
    body: EndpointIn, _admin: AdminDep, session: SessionDep, site: SiteDep, now: NowDep
) -> EndpointOut:
    """Validate the scope against the site and store the endpoint."""
    return EndpointOut.of(await add_endpoint(session, site=site, body=body, now=now))


@router.delete(
    "/notification-endpoints/{endpoint_id}",
    summary="Delete a notification endpoint",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=ITEM_ERRORS,
)
async def delete_endpoint_route(
    endpoint_id: RowIdPath, _admin: AdminDep, session: SessionDep
) -> Response:
    """Delete it; its undelivered notifications are dead-lettered by the dispatcher."""
    await delete_endpoint(session, endpoint_id=endpoint_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/outbox",
    summary="Notifications and their delivery state (e.g. state=dead for dead letters)",
    responses=REQUEST_ERRORS,
)
async def list_outbox_route(
    response: Response,
    _admin: AdminDep,
    session: SessionDep,
    page: PageDep,
    state: Annotated[OutboxState | None, Query()] = None,
    order_id: RowIdQuery = None,
) -> list[OutboxOut]:
    """Newest first; ``X-Total-Count`` carries the number before paging."""
    listing = await list_outbox(session, state=state, order_id=order_id, page=page)
    return listing.answer(response, OutboxOut.model_validate)
