"""The metrics listener of `fm gateway`: ``GET /metrics`` on ``FM_METRICS_HOST:FM_METRICS_PORT``.

A tiny Starlette app served by uvicorn in the process's own event loop, so a scrape reads the live
stats objects of the gateway, intake, relay and sweeper without locks. It also shows the
relational gauges (open orders, outbox) that the API shows; a database that does not answer
within ``FM_METRICS_STORE_TIMEOUT_S`` leaves them out of that scrape (``fm_relational_store_up``
says 0) rather than failing the gateway's own counters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Sequence
from types import TracebackType

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alerts.metrics.stores import exposition, store_metrics
from core.settings import Settings
from fm.listening import listen

log = logging.getLogger(__name__)


def metrics_app(
    *,
    sessions: async_sessionmaker[AsyncSession],
    collectors: Sequence[Collector],
    store_timeout_s: float,
) -> Starlette:
    """An ASGI app answering ``GET /metrics`` from ``collectors`` and the relational gauges."""

    async def metrics(request: Request) -> Response:
        body = exposition(await _store_metrics(sessions, store_timeout_s), collectors)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/metrics", metrics, methods=["GET"])])


async def _store_metrics(
    sessions: async_sessionmaker[AsyncSession], timeout_s: float
) -> list[Metric]:
    up = GaugeMetricFamily(
        "fm_relational_store_up",
        "1 when this scrape read the relational gauges, 0 when the database did not answer",
    )
    try:
        async with asyncio.timeout(timeout_s), sessions() as session:
            families = await store_metrics(session)
    except (DBAPIError, OSError, TimeoutError) as exc:
        log.warning("metrics: the relational gauges are left out of this scrape (%s)", exc)
        up.add_metric([], 0)
        return [up]
    up.add_metric([], 1)
    return [*families, up]


class MetricsListener:
    """Serves ``metrics_app`` while entered: ``async with MetricsListener(...)``."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        collectors: Sequence[Collector],
    ) -> None:
        self._host = settings.metrics_host
        self._port = settings.metrics_port
        self._app = metrics_app(
            sessions=sessions,
            collectors=collectors,
            store_timeout_s=settings.metrics_store_timeout_s,
        )
        self._sock: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> MetricsListener:
        self._sock = listen(self._host, self._port, port_setting="FM_METRICS_PORT")
        config = uvicorn.Config(self._app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        # The caller owns SIGINT/SIGTERM (one stop event for every part), not uvicorn.
        self._server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
        self._task = asyncio.create_task(
            self._server.serve(sockets=[self._sock]), name="metrics-listener"
        )
        log.info("metrics on http://%s:%d/metrics", self._host, self._port)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None and self._task is not None and self._sock is not None
        self._server.should_exit = True
        try:
            await self._task
        finally:
            self._sock.close()
