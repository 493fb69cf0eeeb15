"""Notifications caused by work-order changes, recorded in the change's own transaction.

Every function that changes an order calls ``record_changes`` with the same session before
the transaction commits: the order change and its notifications commit together (the
transactional outbox), and a dispatcher (``alerts.dispatcher``) delivers them afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from alerts.changes import OrderChange
from alerts.outbox import destinations, enabled_endpoints, insert_rows, outbox_rows
from governance.model import Site


async def record_changes(
    session: AsyncSession, *, site: Site, changes: Sequence[OrderChange], now: datetime
) -> int:
    """Queue the notifications ``changes`` cause, inside the caller's transaction.

    Returns how many outbox rows were new (0 when the same changes were recorded before).
    """
    if not changes:
        return 0  # the hot path of a deduplicated event: no query at all
    endpoints = await enabled_endpoints(session)
    rows = []
    for change in changes:
        targets = destinations(change, site=site, endpoints=endpoints)
        rows.extend(outbox_rows(change, targets, now=now))
    return await insert_rows(session, rows)
