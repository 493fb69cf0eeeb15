"""Work orders and their transition history, reduced to the instants the team figures need.

Each order is read as it stood at ``as_of`` (the window's end, or now): transitions after it are
ignored, so a report over a past window says what was known when the window closed. Orders from
before the transition audit existed fall back to their own timestamp columns.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from reports.reading import epoch_seconds
from storage.relational.lifecycle_models import OrderTransition
from storage.relational.models import OrderStatus, WorkOrder
from storage.relational.sla_models import SlaPolicy

#: Statuses in which someone has taken the order (a start or resolve implies the acknowledge).
_TAKEN = frozenset({OrderStatus.ACKNOWLEDGED, OrderStatus.IN_PROGRESS, OrderStatus.RESOLVED})
_UNRESOLVED = (OrderStatus.OPEN, OrderStatus.ACKNOWLEDGED, OrderStatus.IN_PROGRESS)
#: Actions that undo a fix: the fault came back (reopen) or the fix did not hold (rework start).
_REOPEN = "reopen"
_START = "start"


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """One order as the team figures see it, times as aware datetimes."""

    id: int
    grid_id: str
    community_id: str
    severity: str
    tier: str
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None  # the first resolution, the one MTTR and SLA measure
    cancelled: bool
    escalated: bool
    # Silenced and linked orders page nobody and have no SLA clock.
    has_sla: bool
    fixed_first_time: bool | None  # None until resolved
    open_at_as_of: bool


@dataclass(frozen=True, slots=True)
class _Step:
    action: str
    from_status: OrderStatus
    to_status: OrderStatus
    at: datetime


def _facts(
    order: WorkOrder, steps: list[_Step], as_of: datetime, reopen_window_s: float
) -> OrderFacts:
    steps = [s for s in steps if s.at <= as_of]
    if steps:
        acked = next((s.at for s in steps if s.to_status in _TAKEN), None)
        resolved = next((s.at for s in steps if s.to_status is OrderStatus.RESOLVED), None)
        cancelled = any(s.to_status is OrderStatus.CANCELLED for s in steps)
        status = steps[-1].to_status
        undone = [
            s.at
            for s in steps
            if s.action == _REOPEN or (s.action == _START and s.from_status is OrderStatus.RESOLVED)
        ]
    else:
        # No audit rows (older orders, or seeded history): the order's columns tell the story.
        acked = _until(order.acknowledged_at, as_of)
        resolved = _until(order.resolved_at or order.closed_at, as_of)
        cancelled = _until(order.cancelled_at, as_of) is not None
        status = (
            OrderStatus.CANCELLED
            if cancelled
            else (OrderStatus.RESOLVED if resolved else OrderStatus.OPEN)
        )
        undone = [order.updated_at] if order.reopen_count else []
    if resolved is not None and acked is None:
        acked = resolved
    fixed: bool | None = None
    if resolved is not None:
        fixed = not any(0 <= (at - resolved).total_seconds() <= reopen_window_s for at in undone)
    return OrderFacts(
        id=order.id,
        grid_id=order.grid_id,
        community_id=order.community_id,
        severity=order.severity,
        tier=order.tier,
        created_at=order.created_at,
        acknowledged_at=acked,
        resolved_at=resolved,
        cancelled=cancelled,
        escalated=order.escalated_at is not None and order.escalated_at <= as_of,
        has_sla=not order.silenced and order.parent_id is None,
        fixed_first_time=fixed,
        open_at_as_of=status in _UNRESOLVED,
    )


def _until(value: datetime | None, as_of: datetime) -> datetime | None:
    return value if value is not None and value <= as_of else None


def _relevant(start: datetime, as_of: datetime) -> ColumnElement[bool]:
    """Orders created in the window, or older ones that may still have been open in it."""
    return and_(
        WorkOrder.created_at < as_of,
        or_(
            WorkOrder.created_at >= start,
            WorkOrder.status.in_([s.value for s in _UNRESOLVED]),
            WorkOrder.resolved_at >= start,
            WorkOrder.closed_at >= start,
            WorkOrder.cancelled_at >= start,
        ),
    )


async def read_orders(
    session: AsyncSession,
    *,
    start: datetime,
    as_of: datetime,
    reopen_window_s: float,
    narrowed_by: ColumnElement[bool] | None = None,
) -> list[OrderFacts]:
    """Every order relevant to ``[start, as_of)`` with its history, as facts at ``as_of``."""
    where = _relevant(start, as_of)
    if narrowed_by is not None:
        where = and_(where, narrowed_by)
    orders = list(
        (await session.scalars(select(WorkOrder).where(where).order_by(WorkOrder.id))).all()
    )
    history = select(
        OrderTransition.order_id,
        OrderTransition.action,
        OrderTransition.from_status,
        OrderTransition.to_status,
        OrderTransition.at,
    ).where(OrderTransition.order_id.in_(select(WorkOrder.id).where(where)))
    steps: dict[int, list[_Step]] = defaultdict(list)
    for order_id, action, from_status, to_status, at in await session.execute(
        history.order_by(OrderTransition.order_id, OrderTransition.id)
    ):
        steps[order_id].append(_Step(action, from_status, to_status, at))
    return [_facts(order, steps.get(order.id, []), as_of, reopen_window_s) for order in orders]


async def read_policies(session: AsyncSession) -> dict[str, tuple[int, int]]:
    """Severity → (ack deadline, resolve deadline) in seconds, as the SLA table holds them."""
    rows = await session.execute(select(SlaPolicy.severity, SlaPolicy.ack_s, SlaPolicy.resolve_s))
    return {severity: (ack_s, resolve_s) for severity, ack_s, resolve_s in rows}


@dataclass(frozen=True, slots=True)
class OrderTimes:
    """Mean seconds from raising to acknowledging and to resolving; None without such orders."""

    mtta_s: float | None
    mttr_s: float | None


async def order_times(
    session: AsyncSession,
    *,
    start: datetime,
    as_of: datetime,
    narrowed_by: ColumnElement[bool] | None = None,
) -> OrderTimes:
    """MTTA and MTTR of the orders raised in ``[start, as_of)``, averaged by the database.

    Read from the orders' own acknowledged/resolved times (one aggregate, however many orders),
    over the orders that paged someone: silenced, linked and cancelled ones have no clock.
    """
    dialect = session.get_bind().dialect.name
    created = epoch_seconds(WorkOrder.created_at, dialect)

    def mean_until(column: InstrumentedAttribute[datetime | None]) -> ColumnElement[float | None]:
        seconds = epoch_seconds(column, dialect) - created
        return func.avg(case((column <= as_of, seconds), else_=None))

    conditions = [
        WorkOrder.created_at >= start,
        WorkOrder.created_at < as_of,
        WorkOrder.silenced.is_(False),
        WorkOrder.parent_id.is_(None),
        WorkOrder.cancelled_at.is_(None),
    ]
    if narrowed_by is not None:
        conditions.append(narrowed_by)
    query = select(mean_until(WorkOrder.acknowledged_at), mean_until(WorkOrder.resolved_at))
    mtta, mttr = (await session.execute(query.where(*conditions))).one()
    return OrderTimes(
        mtta_s=None if mtta is None else float(mtta), mttr_s=None if mttr is None else float(mttr)
    )
