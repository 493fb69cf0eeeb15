"""What one device event does to the relational store, as one unit of work."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from alerts.changes import OrderChange
from alerts.notify import record_changes
from alerts.service import clear_fault, raise_fault
from core.events import DeviceEvent
from governance.model import Site


async def handle_event(
    session: AsyncSession, *, site: Site, event: DeviceEvent, now: datetime
) -> list[OrderChange]:
    """Apply one event inside the caller's transaction; the order changes it caused.

    The returned facts are the outbox seam: persisting them in this same transaction is what
    makes "the order change and its notification commit together" hold.
    """
    if event.active:
        change = await raise_fault(session, site=site, event=event, now=now)
    else:
        change = await clear_fault(session, event=event, now=now)
    changes = [] if change is None else [change]
    await record_changes(session, site=site, changes=changes, now=now)
    return changes
