"""Request counters by method, route template and status (no raw paths: bounded labels)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_UNMATCHED = "<unmatched>"


class HttpMetrics(Collector):
    """Counts every HTTP request the app answered; a Prometheus collector of those counts."""

    def __init__(self) -> None:
        self.requests: defaultdict[tuple[str, str, str], int] = defaultdict(int)
        self.seconds: defaultdict[tuple[str, str], float] = defaultdict(float)

    def collect(self) -> Iterator[Metric]:
        """The two counter families."""
        requests = CounterMetricFamily(
            "fm_http_requests",
            "HTTP requests answered, by method, route template and status code",
            labels=["method", "route", "status"],
        )
        for (method, route, status), count in sorted(self.requests.items()):
            requests.add_metric([method, route, status], count)
        seconds = CounterMetricFamily(
            "fm_http_request_seconds",
            "Time spent answering HTTP requests, by method and route template",
            labels=["method", "route"],
        )
        for (method, route), total in sorted(self.seconds.items()):
            seconds.add_metric([method, route], total)
        yield requests
        yield seconds


class HttpMetricsMiddleware:
    """Pure ASGI middleware feeding ``HttpMetrics`` (streams such as SSE count when they end)."""

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = "500"

        async def send_counting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = str(message["status"])
            await send(message)

        try:
            await self._app(scope, receive, send_counting)
        finally:
            route = _route_template(scope)
            method = str(scope.get("method", ""))
            self._metrics.requests[(method, route, status)] += 1
            self._metrics.seconds[(method, route)] += time.perf_counter() - started


def _route_template(scope: Scope) -> str:
    """``/api/v1/workorders/{order_id}``, never the raw path (which a client could vary).

    The router records the route it matched in the scope while handling the request.
    """
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(path) if path else _UNMATCHED
