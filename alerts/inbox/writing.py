"""The gateway side of the inbox: an ``EventIntake`` handler that stores events, nothing more.

With ``FM_ALERTS_HANDOFF=inbox`` the gateway's intake commits each batch of events as inbox rows
(one INSERT) instead of handling them: the gateway acknowledges a message to the broker once
its events are rows, and the episodes and orders are the work of ``fm alerts``, in another
process with a core of its own (docs/reliability.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.handling import IntakeStats
from core.event_codec import encode_event
from core.events import AnyEvent
from storage.relational.inbox_models import InboxEvent


async def store_in_inbox(
    session: AsyncSession, events: Sequence[AnyEvent], now: datetime, stats: IntakeStats
) -> None:
    """Append ``events`` to the inbox in their order (ids rise with the insert order)."""
    rows = [{"payload": encode_event(event), "written_at": now} for event in events]
    await session.execute(insert(InboxEvent), rows)
    stats.committed += len(rows)
