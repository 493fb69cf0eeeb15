"""Raising and clearing through the production event path, answering with the order touched."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from alerts.orders.raising import handle_event
from core.events import DeviceEvent
from governance.model import Site
from storage.relational.models import WorkOrder


async def record_fault_raised(
    session: AsyncSession, *, site: Site, event: DeviceEvent, now: datetime
) -> WorkOrder | None:
    """Handle a raise: the order it opened, recurred or reopened; None if already open."""
    changes = await handle_event(session, site=site, event=event, now=now)
    return None if not changes else await session.get(WorkOrder, changes[0].order_id)


async def record_fault_cleared(
    session: AsyncSession, *, site: Site, event: DeviceEvent, now: datetime
) -> WorkOrder | None:
    """Handle a clear: the order marked recovered, None if no order was affected."""
    changes = await handle_event(session, site=site, event=event, now=now)
    return None if not changes else await session.get(WorkOrder, changes[0].order_id)
