"""GET /metrics: Prometheus text with open orders by tier and severity, outbox, HTTP counts."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
from fastapi import FastAPI
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.relational.models import OrderStatus
from tests.api.conftest import T0, make_order, seed, serve


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, keyed by name and sorted labels."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_open_orders_are_counted_by_tier_and_severity_with_zeros(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed(
        sessions,
        make_order(severity="critical", fault_code="smoke", device_id="shed-1"),
        make_order(severity="minor", tier="community", status=OrderStatus.ACKNOWLEDGED.value),
        make_order(severity="minor", status=OrderStatus.CLOSED.value, closed_at=T0),
    )

    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    gauge = "fm_workorders_open"
    assert found[(gauge, (("severity", "critical"), ("tier", "grid")))] == 1
    assert found[(gauge, (("severity", "minor"), ("tier", "community")))] == 1
    assert found[(gauge, (("severity", "minor"), ("tier", "grid")))] == 0  # closed: not open
    assert found[(gauge, (("severity", "major"), ("tier", "street")))] == 0
    assert found[("fm_workorders_unfinished", (("status", "acknowledged"),))] == 1
    assert found[("fm_outbox_messages", (("state", "dead"),))] == 0


async def test_requests_are_counted_by_route_template_not_raw_path(
    client: httpx.AsyncClient,
) -> None:
    for order_id in (101, 102):
        assert (await client.get(f"/api/v1/workorders/{order_id}")).status_code == 404

    found = samples((await client.get("/metrics")).text)

    key = (
        "fm_http_requests_total",
        (("method", "GET"), ("route", "/api/v1/workorders/{order_id}"), ("status", "404")),
    )
    assert found.get(key) == 2, sorted(k for k in found if "http" in k[0])
    assert not any("101" in str(labels) for _, labels in found)


class _Parts(Collector):
    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily("fm_gateway_messages_received", "test part", labels=[])
        family.add_metric([], 7)
        yield family


async def test_other_parts_of_the_process_are_exposed(
    make_app: Callable[..., FastAPI],
) -> None:
    app = make_app()
    app.state.metrics_collectors = (*app.state.metrics_collectors, _Parts())
    async with serve(app, token=None) as client:
        found = samples((await client.get("/metrics")).text)
    assert found[("fm_gateway_messages_received_total", ())] == 7
