"""Guarded updates of a work order: they apply only if nobody changed the row meanwhile.

The escalation sweep, hand-back and department acknowledgement all go through
:func:`update_if_unchanged`: ``UPDATE … WHERE id = :id AND version = :seen`` bumps the version
and returns the row, or returns nothing when another replica or a person got there first. That
makes a double sweep harmless on SQLite (whose writers queue on the database lock) as well as
on PostgreSQL (where the sweep also skips rows another sweeper has locked).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.relational.models import WorkOrder


async def update_if_unchanged(
    session: AsyncSession,
    *,
    order_id: int,
    seen_version: int,
    values: Mapping[str, object],
    now: datetime,
) -> WorkOrder | None:
    """Apply ``values`` and bump the version if the order is still at ``seen_version``."""
    statement = (
        update(WorkOrder)
        .where(WorkOrder.id == order_id, WorkOrder.version == seen_version)
        .values(**values, updated_at=now, version=WorkOrder.version + 1)
        .returning(WorkOrder)
        .execution_options(populate_existing=True)
    )
    order: WorkOrder | None = await session.scalar(statement)
    return order
