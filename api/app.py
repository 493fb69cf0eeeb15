"""The FastAPI application factory; every resource is built by the lifespan, none at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.board.views import router as board_router
from api.dashboard.views import mount_dashboard
from api.devices.views import router as devices_router
from api.errors import install_error_handlers
from api.escalation.views import router as escalation_router
from api.health.views import router as health_router
from api.metrics.http import HttpMetrics, HttpMetricsMiddleware
from api.metrics.views import router as metrics_router
from api.middleware import BodyLimitMiddleware, SafeHeadersMiddleware
from api.notice.views import router as notice_router
from api.notifications.views import router as notifications_router
from api.open311.views import router as open311_router
from api.reports.views import router as reports_router
from api.resources import AppResources, ReadinessProbe
from api.rosters.views import router as rosters_router
from api.silences.views import router as silences_router
from api.simulation.control import FleetControl
from api.simulation.views import router as simulation_router
from api.site.views import router as site_router
from api.sla.views import router as sla_router
from api.stream.views import router as stream_router
from api.workorders.commands import router as workorder_commands_router
from api.workorders.views import router as workorders_router
from core.clock import Clock, utcnow
from core.settings import Settings
from governance.loader import load_site
from governance.model import Site
from storage.relational.db import create_engine, session_factory
from storage.tsdb.factory import open_timeseries
from storage.tsdb.port import TimeSeriesStore

__all__ = ["ReadinessProbe", "create_app"]

log = logging.getLogger(__name__)

DISTRIBUTION = "facility-monitor"


def _package_version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "0+unknown"


async def _open_timeseries(settings: Settings, stack: AsyncExitStack) -> TimeSeriesStore:
    store = open_timeseries(settings.effective_tsdb_url)
    await store.open()
    stack.push_async_callback(store.close)
    return store


async def _build_resources(
    settings: Settings,
    stack: AsyncExitStack,
    *,
    site: Site | None,
    sessions: async_sessionmaker[AsyncSession] | None,
    timeseries: TimeSeriesStore | None,
    readiness: Sequence[ReadinessProbe],
    clock: Clock,
) -> AppResources:
    if site is None:
        site = load_site(settings.site_file)
    if sessions is None or timeseries is None:
        # The embedded SQLite defaults live in the data directory, which may not exist yet.
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    if sessions is None:
        engine = create_engine(settings.effective_database_url)
        stack.push_async_callback(engine.dispose)
        sessions = session_factory(engine)
    if timeseries is None:
        timeseries = await _open_timeseries(settings, stack)
    return AppResources(
        settings=settings,
        site=site,
        sessions=sessions,
        timeseries=timeseries,
        readiness=tuple(readiness),
        clock=clock,
    )


def create_app(
    settings: Settings,
    *,
    site: Site | None = None,
    sessions: async_sessionmaker[AsyncSession] | None = None,
    timeseries: TimeSeriesStore | None = None,
    readiness: Sequence[ReadinessProbe] = (),
    clock: Clock = utcnow,
    collectors: Sequence[Collector] = (),
    fleet: FleetControl | None = None,
) -> FastAPI:
    """The API and dashboard; the lifespan builds (and later closes) whatever is not injected.

    Injected resources belong to the caller and are left open at shutdown. ``clock`` is the
    time every command records (tests pass a ``ManualClock``); ``collectors`` add the metrics of
    other parts of the same process (the gateway in ``fm demo``) to /metrics; ``fleet`` is the
    simulated fleet of ``fm demo`` that ``/api/v1/simulation/faults`` injects into (404 without).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            app.state.resources = await _build_resources(
                settings,
                stack,
                site=site,
                sessions=sessions,
                timeseries=timeseries,
                readiness=readiness,
                clock=clock,
            )
            if settings.admin_token is None:
                log.warning("FM_ADMIN_TOKEN is not set: every /api route answers 503 until it is")
            try:
                yield
            finally:
                # The stream's outbox tail must stop before the engine is disposed.
                hub = getattr(app.state, "stream_hub", None)
                if hub is not None:
                    await hub.close()
                    del app.state.stream_hub
                del app.state.resources

    app = FastAPI(
        title="facility monitor",
        version=_package_version(),
        summary="Facility monitoring for neighbourhood grid governance",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    http_metrics = HttpMetrics()
    app.state.metrics_collectors = (http_metrics, *collectors)
    app.state.fleet = fleet
    # The last added runs first: every answer is counted, the 413 included, and the body limit
    # refuses before any handler reads the request.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.http_max_body_bytes)
    app.add_middleware(SafeHeadersMiddleware)
    app.add_middleware(HttpMetricsMiddleware, metrics=http_metrics)
    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(site_router)
    app.include_router(devices_router)
    app.include_router(workorders_router)
    app.include_router(workorder_commands_router)
    app.include_router(sla_router)
    app.include_router(silences_router)
    app.include_router(rosters_router)
    app.include_router(escalation_router)
    app.include_router(notifications_router)
    app.include_router(reports_router)
    app.include_router(stream_router)
    app.include_router(simulation_router)
    app.include_router(board_router)
    app.include_router(open311_router)
    app.include_router(notice_router)
    mount_dashboard(app)
    return app
