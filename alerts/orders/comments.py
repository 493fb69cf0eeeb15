"""Comments on work orders: allowed in every state, and they never change the order.

A comment is not an order change: it keeps the order's version (so nobody's pending command
goes stale because a colleague wrote a remark) and sends no notification.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import InvalidCommandError, OrderNotFoundError, UnknownMemberError
from alerts.orders.lifecycle import team_member_ids
from governance.model import Site
from storage.relational.lifecycle_models import OrderComment
from storage.relational.models import WorkOrder


async def add_comment(
    session: AsyncSession,
    *,
    site: Site,
    order_id: int,
    author: str,
    body: str,
    now: datetime,
    on_behalf_of: str | None = None,
) -> OrderComment:
    """Append a comment by ``author`` (optionally for a member of the order's team)."""
    body = body.strip()
    if not body:
        raise InvalidCommandError("a comment needs some text in its body")
    order = await session.get(WorkOrder, order_id)
    if order is None:
        raise OrderNotFoundError(order_id)
    if on_behalf_of is not None:
        known = team_member_ids(site, order.team_id)
        if on_behalf_of not in known:
            raise UnknownMemberError(member_id=on_behalf_of, team_id=order.team_id, known=known)
    comment = OrderComment(
        order_id=order_id,
        author=author,
        on_behalf_of=on_behalf_of,
        body=body,
        created_at=now,
    )
    session.add(comment)
    await session.flush()
    return comment


async def list_comments(session: AsyncSession, *, order_id: int) -> list[OrderComment]:
    """The order's comments, oldest first; raises when the order does not exist."""
    if await session.get(WorkOrder, order_id) is None:
        raise OrderNotFoundError(order_id)
    rows = await session.scalars(
        select(OrderComment).where(OrderComment.order_id == order_id).order_by(OrderComment.id)
    )
    return list(rows.all())
