"""Notifications caused by work-order changes, recorded in the change's own transaction.

Every function that changes an order calls ``record_changes`` with the same session before
the transaction commits: the order change and its notifications commit together (the
transactional outbox), and a dispatcher delivers them afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from alerts.changes import OrderChange
from governance.model import Site


async def record_changes(
    session: AsyncSession, *, site: Site, changes: Sequence[OrderChange], now: datetime
) -> None:
    """Queue the notifications ``changes`` cause, inside the caller's transaction.

    Seam only until the outbox lands (same development cycle): it records nothing yet.
    """
    del session, site, changes, now
