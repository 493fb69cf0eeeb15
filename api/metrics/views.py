"""``GET /metrics`` in the Prometheus text format: stores, HTTP, and the process's own parts."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from api.deps import SessionDep
from api.metrics.queries import open_orders, outbox_states
from governance.model import Tier
from sensors.catalogue import Severity
from storage.relational.outbox_models import OutboxState

router = APIRouter(tags=["metrics"])


class _Snapshot(Collector):
    """Metrics already computed for this scrape."""

    def __init__(self, metrics: Iterable[Metric]) -> None:
        self._metrics = list(metrics)

    def collect(self) -> Iterable[Metric]:
        """What was computed."""
        return self._metrics


def _open_orders_families(counts: dict[tuple[str, str, str], int]) -> list[Metric]:
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


def _outbox_family(counts: dict[str, int]) -> Metric:
    family = GaugeMetricFamily(
        "fm_outbox_messages",
        "Notification outbox rows by state: pending is the backlog, dead the dead letters",
        labels=["state"],
    )
    for state in OutboxState:
        family.add_metric([state.value], counts.get(state.value, 0))
    return family


@router.get(
    "/metrics",
    summary="Prometheus metrics of this process and the stores it reads",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
async def metrics(request: Request, session: SessionDep) -> Response:
    """Work orders open by tier and severity, outbox backlog, HTTP requests, process parts."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        _Snapshot(
            [
                *_open_orders_families(await open_orders(session)),
                _outbox_family(await outbox_states(session)),
            ]
        )
    )
    for collector in getattr(request.app.state, "metrics_collectors", ()):
        registry.register(collector)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
