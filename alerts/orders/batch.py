"""Set-based pieces of handling many device events in one transaction (group commit).

Events of *distinct* devices share almost no row: their episodes and orders have distinct
open keys, and the linking rules only relate orders of the same device (incidents, which
devices share, are opened on their own; :func:`device_segments` keeps joining and leaving them
in order). So a run of events of distinct devices can be decided together — each lookup one
query for the whole run, each write one statement — with the same outcome as handling them one
after the other. :func:`device_segments` cuts a batch into such runs, in arrival order, so an
event always sees what the earlier events of its device did.

Fewer, larger runs cost the least CPU and the fewest event-loop turns (the gateway shares the
loop); each step of a run holds the loop for a time that grows with the run, so the intake's
batch size (``FM_ALERTS_BATCH_MAX``) is what bounds it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.orders.grouping import GROUPED_CODES
from core.events import DeviceEvent
from storage.relational.models import OrderScope, WorkOrder


def device_segments(events: Sequence[DeviceEvent]) -> list[list[int]]:
    """Indexes of ``events`` in consecutive runs in which no device appears twice and no raise
    of a grouped code follows a clear of that code.

    A run's raises are decided before its clears. Devices of one incident do share its order:
    a clear before a raise there may leave it recovered for the raise to count again, so such
    a raise starts a new run; a raise before a clear decides the same either way.
    """
    segments: list[list[int]] = []
    seen: set[str] = set()
    cleared: set[str] = set()  # grouped codes cleared in the current run
    for index, event in enumerate(events):
        if not segments or event.device_id in seen or (event.active and event.code in cleared):
            segments.append([])
            seen.clear()
            cleared.clear()
        segments[-1].append(index)
        seen.add(event.device_id)
        if not event.active and event.code in GROUPED_CODES:
            cleared.add(event.code)
    return segments


async def locked_open_orders(session: AsyncSession, keys: Collection[str]) -> dict[str, WorkOrder]:
    """The orders holding ``keys`` by open key, row-locked for this transaction (one query)."""
    if not keys:
        return {}
    query = (
        select(WorkOrder)
        .where(WorkOrder.open_key.in_(keys))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {order.open_key: order for order in await session.scalars(query) if order.open_key}


async def latest_device_orders(
    session: AsyncSession, faults: Collection[tuple[str, str]]
) -> dict[tuple[str, str], WorkOrder]:
    """The latest device order of each ``(device_id, fault_code)`` that has one (one query)."""
    if not faults:
        return {}
    latest_ids = (
        select(func.max(WorkOrder.id))
        .where(
            WorkOrder.device_id.in_({device for device, _ in faults}),
            WorkOrder.fault_code.in_({code for _, code in faults}),
            WorkOrder.scope == OrderScope.DEVICE,
        )
        .group_by(WorkOrder.device_id, WorkOrder.fault_code)
    )
    wanted = set(faults)
    latest: dict[tuple[str, str], WorkOrder] = {}
    for order in await session.scalars(select(WorkOrder).where(WorkOrder.id.in_(latest_ids))):
        fault = (order.device_id or "", order.fault_code)
        if fault in wanted:
            latest[fault] = order
    return latest
