"""Gauges read from the relational store at scrape time (cheap grouped counts).

Shared by the API's ``/metrics`` and the gateway's metrics listener, so both show the same
open orders and outbox backlog.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from governance.model import Tier
from sensors.catalogue import Severity
from storage.relational.inbox_models import InboxEvent
from storage.relational.models import OrderStatus, WorkOrder
from storage.relational.outbox_models import OutboxMessage, OutboxState

_FINISHED = (OrderStatus.CLOSED.value, OrderStatus.CANCELLED.value)


class Snapshot(Collector):
    """Metrics already computed for this scrape (the store gauges are read asynchronously)."""

    def __init__(self, metrics: Iterable[Metric]) -> None:
        self._metrics = list(metrics)

    def collect(self) -> Iterable[Metric]:
        """What was computed."""
        return self._metrics


def exposition(store: Iterable[Metric], collectors: Iterable[Collector]) -> bytes:
    """The Prometheus text of one scrape: the store gauges read for it, then every collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Snapshot(store))
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry)


async def open_orders(session: AsyncSession) -> dict[tuple[str, str, str], int]:
    """Unfinished work orders by (tier, severity, status)."""
    rows = await session.execute(
        select(WorkOrder.tier, WorkOrder.severity, WorkOrder.status, func.count())
        .where(WorkOrder.status.not_in(_FINISHED))
        .group_by(WorkOrder.tier, WorkOrder.severity, WorkOrder.status)
    )
    return {(str(tier), str(sev), str(status)): n for tier, sev, status, n in rows}


async def outbox_states(session: AsyncSession) -> dict[str, int]:
    """Outbox rows by delivery state (pending is the backlog, dead the dead letters)."""
    rows = await session.execute(
        select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
    )
    return {str(state): n for state, n in rows}


async def inbox_states(session: AsyncSession) -> dict[str, int]:
    """Inbox rows waiting for ``fm alerts`` (pending) and rows it set aside (failed)."""
    rows = await session.execute(
        select(InboxEvent.failed_at.is_(None), func.count()).group_by(
            InboxEvent.failed_at.is_(None)
        )
    )
    return {("pending" if waiting else "failed"): n for waiting, n in rows}


async def store_metrics(session: AsyncSession) -> list[Metric]:
    """Open orders by tier and severity, unfinished orders by status, outbox and inbox rows."""
    return [
        *open_orders_families(await open_orders(session)),
        outbox_family(await outbox_states(session)),
        inbox_family(await inbox_states(session)),
    ]


def inbox_family(counts: dict[str, int]) -> Metric:
    """``fm_alerts_inbox_events`` by state (pending, failed), both always present."""
    family = GaugeMetricFamily(
        "fm_alerts_inbox_events",
        "Events gateways left for fm alerts: pending is the backlog, failed were set aside",
        labels=["state"],
    )
    for state in ("pending", "failed"):
        family.add_metric([state], counts.get(state, 0))
    return family


def open_orders_families(counts: dict[tuple[str, str, str], int]) -> list[Metric]:
    """``fm_workorders_open`` by tier and severity, ``fm_workorders_unfinished`` by status."""
    by_level = GaugeMetricFamily(
        "fm_workorders_open",
        "Work orders not yet closed or cancelled, by tier and severity",
        labels=["tier", "severity"],
    )
    # Every tier and severity pair is present, so a dashboard shows a zero rather than a gap.
    levels = {(tier.value, severity.value): 0 for tier in Tier for severity in Severity}
    statuses: dict[str, int] = {}
    for (tier, severity, status), count in counts.items():
        levels[(tier, severity)] = levels.get((tier, severity), 0) + count
        statuses[status] = statuses.get(status, 0) + count
    for (tier, severity), count in sorted(levels.items()):
        by_level.add_metric([tier, severity], count)
    by_status = GaugeMetricFamily(
        "fm_workorders_unfinished",
        "Work orders not yet closed or cancelled, by status",
        labels=["status"],
    )
    for status, count in sorted(statuses.items()):
        by_status.add_metric([status], count)
    return [by_level, by_status]


def outbox_family(counts: dict[str, int]) -> Metric:
    """``fm_outbox_messages`` by state, every state present."""
    family = GaugeMetricFamily(
        "fm_outbox_messages",
        "Notification outbox rows by state: pending is the backlog, dead the dead letters",
        labels=["state"],
    )
    for state in OutboxState:
        family.add_metric([state.value], counts.get(state.value, 0))
    return family
