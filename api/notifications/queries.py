"""Reads behind the notification routes: endpoints and the outbox, paged."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from api.listing import Listing, Page, equals, fetch_page
from storage.relational.outbox_models import NotificationEndpoint, OutboxMessage, OutboxState


async def list_endpoints(session: AsyncSession, *, page: Page) -> Listing[NotificationEndpoint]:
    """Every endpoint, oldest first."""
    return await fetch_page(
        session, NotificationEndpoint, where=(), order_by=(NotificationEndpoint.id,), page=page
    )


async def list_outbox(
    session: AsyncSession, *, state: OutboxState | None, order_id: int | None, page: Page
) -> Listing[OutboxMessage]:
    """Notifications, newest first, narrowed to a delivery state and/or an order."""
    return await fetch_page(
        session,
        OutboxMessage,
        where=(
            equals(OutboxMessage.state, None if state is None else state.value),
            equals(OutboxMessage.order_id, order_id),
        ),
        order_by=(OutboxMessage.id.desc(),),
        page=page,
    )
