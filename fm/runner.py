"""Wires the parts into running processes: gateway → alerts in one process, the API, the demo."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import aiomqtt
import uvicorn
from prometheus_client import ProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from alerts.escalation.sweeper import EscalationSweeper
from alerts.inbox.consuming import InboxConsumer
from alerts.inbox.writing import store_in_inbox
from alerts.intake import EventIntake
from alerts.metrics.parts import (
    GroupingCollector,
    IntakeCollector,
    RelayCollector,
    SweeperCollector,
)
from alerts.notifications.relay import Relay
from alerts.orders.held_pages import HeldPageDecider
from api.app import create_app
from api.simulation.control import FleetControl
from core.mqtt import broker_address
from core.settings import Settings
from fm.listening import listen
from fm.metrics_listener import MetricsListener
from gateway.metrics import GatewayCollector
from gateway.partition import Partition
from gateway.service import Gateway
from gateway.spool import PointSpool
from gateway.state import SqlStateStore
from governance.model import Site
from residents.notifier import FollowerNotifier
from residents.settings import ResidentSettings
from storage.relational.db import create_engine, session_factory
from storage.relational.migrate import upgrade_database
from storage.tsdb.factory import open_timeseries
from storage.tsdb.options import SeriesTags, StoreOptions
from storage.tsdb.port import TimeSeriesStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Stores:
    """The opened relational and time-series stores of one process."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    timeseries: TimeSeriesStore


def store_options(settings: Settings) -> StoreOptions:
    """The time-series layout and retention of the FM_TSDB_* settings."""
    return StoreOptions(
        chunk_hours=settings.tsdb_chunk_hours,
        retention_days=settings.tsdb_retention_days,
        rollup_minute_days=settings.tsdb_rollup_minute_days,
        rollup_hour_days=settings.tsdb_rollup_hour_days,
        rollup_interval_s=settings.tsdb_rollup_interval_s,
        rollup_max_points=settings.tsdb_rollup_max_points,
        sqlite_cache_mb=settings.tsdb_sqlite_cache_mb,
    )


def series_tags(site: Site) -> dict[str, SeriesTags]:
    """Each device's facility type, building, grid and community (the InfluxDB tags)."""
    tags: dict[str, SeriesTags] = {}
    for device in site.devices.values():
        building = site.buildings[device.building_id]
        grid = site.grids[building.grid_id]
        tags[device.id] = SeriesTags(
            facility_type=device.type,
            building_id=building.id,
            grid_id=grid.id,
            community_id=grid.community_id,
        )
    return tags


@contextlib.asynccontextmanager
async def open_stores(
    settings: Settings, *, migrate: bool, site: Site | None = None
) -> AsyncIterator[Stores]:
    """Open both stores (migrating the relational one first when asked) and close them after.

    ``site`` gives the time-series store its device tags (InfluxDB measurements and tags)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if migrate:
        await upgrade_database(settings.effective_database_url)
    engine = create_engine(settings.effective_database_url)
    timeseries = open_timeseries(
        settings.effective_tsdb_url,
        options=store_options(settings),
        tags=None if site is None else series_tags(site),
    )
    await timeseries.open()
    try:
        yield Stores(engine=engine, sessions=session_factory(engine), timeseries=timeseries)
    finally:
        await timeseries.close()
        await engine.dispose()


def alerts_intake(*, settings: Settings, site: Site, stores: Stores) -> EventIntake:
    """The alerts side of the gateway's events: enter it before the gateway, so it outlives it
    and commits the last events the gateway hands over. With ``FM_ALERTS_HANDOFF=inbox`` it
    commits them to the inbox for ``fm alerts`` instead of handling them here."""
    handler = store_in_inbox if settings.alerts_handoff == "inbox" else None
    return EventIntake(sessions=stores.sessions, site=site, settings=settings, handler=handler)


def point_spool(settings: Settings) -> PointSpool:
    """This gateway's spool file for points the time-series store cannot take now, in
    ``FM_DATA_DIR/spool/`` under its client id (several gateways may share the directory)."""
    # The client id is [A-Za-z0-9_-] (a setting's pattern): safe as a file name.
    return PointSpool(settings.data_dir / "spool" / f"{settings.mqtt_client_id}.points")


def metrics_listener(
    *, settings: Settings, stores: Stores, collectors: Sequence[Collector]
) -> contextlib.AbstractAsyncContextManager[object]:
    """The process's own GET /metrics on ``FM_METRICS_PORT`` (0 turns it off)."""
    if not settings.metrics_port:
        return contextlib.nullcontext()
    return MetricsListener(
        settings=settings,
        sessions=stores.sessions,
        collectors=[ProcessCollector(registry=None), *collectors],
    )


class GatewayProbe:
    """Readiness: the gateway holds a live broker connection."""

    name = "mqtt"

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    async def check(self) -> bool:
        """True while the gateway is connected and subscribed."""
        return self._gateway.connected


class BrokerProbe:
    """Readiness: the MQTT broker accepts a connection (for processes without a gateway)."""

    name = "mqtt"

    def __init__(self, settings: Settings) -> None:
        self._address = broker_address(settings)
        self._client_id = f"{settings.mqtt_client_id}-readyz"

    async def check(self) -> bool:
        """Connect and disconnect; any failure means not ready (the API bounds the wait)."""
        try:
            async with aiomqtt.Client(
                self._address.host,
                self._address.port,
                username=self._address.username,
                password=self._address.password,
                identifier=self._client_id,
            ):
                return True
        except aiomqtt.MqttError:
            return False


async def run_ingestion(
    *,
    settings: Settings,
    site: Site,
    stores: Stores,
    stop: asyncio.Event,
    partition: Partition | None = None,
) -> None:
    """The gateway and, unless ``FM_ALERTS_HANDOFF=inbox`` leaves them to ``fm alerts``, the
    alerts parts (``run_alerts``) in this process, with the metrics listener.

    A ``partition`` gateway takes only its share of the devices, under a client id of its own
    (its persistent session and spool file are its own too).
    """
    if partition is not None and not partition.whole:
        client_id = settings.mqtt_client_id + partition.suffix()
        settings = settings.model_copy(update={"mqtt_client_id": client_id})
    intake = alerts_intake(settings=settings, site=site, stores=stores)
    gateway = Gateway(
        settings=settings,
        site=site,
        store=stores.timeseries,
        sink=intake,
        state_store=SqlStateStore(stores.sessions),
        spool=point_spool(settings),
        partition=partition,
    )
    collectors: list[Collector] = [GatewayCollector(gateway.stats), IntakeCollector(intake.stats)]
    if settings.alerts_handoff == "inbox":
        listener = metrics_listener(settings=settings, stores=stores, collectors=collectors)
        # The intake is entered before the gateway so it commits the last events handed over.
        async with listener, intake, gateway:
            await stop.wait()
        return
    parts = AlertsParts(settings=settings, site=site, stores=stores)
    listener = metrics_listener(
        settings=settings, stores=stores, collectors=[*collectors, *parts.collectors()]
    )
    # The metrics listener is entered first: a taken port fails before anything connects, and
    # the shutdown below stays visible to a scrape until the end. The relay is entered next so it
    # outlives the gateway and delivers the last changes; the intake next, so it commits the last
    # events the gateway hands over.
    async with listener, parts, intake, gateway:
        await stop.wait()


async def run_alerts(
    *, settings: Settings, site: Site, stores: Stores, stop: asyncio.Event
) -> None:
    """``fm alerts``: the events gateways left in the inbox, the notification relay, the
    escalation sweep and the grouping decisions, with the metrics listener."""
    parts = AlertsParts(settings=settings, site=site, stores=stores)
    consumer = InboxConsumer(sessions=stores.sessions, site=site, settings=settings)
    collectors = [IntakeCollector(consumer.stats), *parts.collectors()]
    listener = metrics_listener(settings=settings, stores=stores, collectors=collectors)
    async with listener, parts, consumer:
        await stop.wait()


class AlertsParts:
    """The alerts loops that do not depend on the hand-off: relay, sweeper, held pages, and the
    residents' resolution notices.

    Entered before the intake and the gateway, so the relay outlives them and delivers the last
    changes they commit.
    """

    def __init__(self, *, settings: Settings, site: Site, stores: Stores) -> None:
        self.relay = Relay(sessions=stores.sessions, settings=settings, site=site)
        self.sweeper = EscalationSweeper(sessions=stores.sessions, site=site, settings=settings)
        self.decider = HeldPageDecider(sessions=stores.sessions, site=site, settings=settings)
        self.followers = FollowerNotifier(
            sessions=stores.sessions, site=site, settings=ResidentSettings()
        )
        self._stack = contextlib.AsyncExitStack()

    def collectors(self) -> list[Collector]:
        """Their Prometheus collectors."""
        return [
            RelayCollector(self.relay.stats),
            SweeperCollector(self.sweeper.stats),
            GroupingCollector(self.decider.stats),
        ]

    async def __aenter__(self) -> AlertsParts:
        for part in (self.relay, self.sweeper, self.decider, self.followers):
            await self._stack.enter_async_context(part)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._stack.aclose()


async def serve_api(
    *,
    settings: Settings,
    site: Site,
    stores: Stores,
    stop: asyncio.Event,
    gateway: Gateway | None = None,
    collectors: Sequence[Collector] = (),
    fleet: FleetControl | None = None,
) -> None:
    """Serve the API and dashboard with uvicorn until ``stop`` is set.

    ``collectors`` add the parts running in this process (``fm demo``) to the API's /metrics;
    ``fleet`` is ``fm demo``'s simulated fleet, for fault injection over HTTP.
    """
    app = create_app(
        settings,
        site=site,
        sessions=stores.sessions,
        timeseries=stores.timeseries,
        readiness=[GatewayProbe(gateway) if gateway is not None else BrokerProbe(settings)],
        collectors=[ProcessCollector(registry=None), *collectors],
        fleet=fleet,
    )
    sock = listen(settings.http_host, settings.http_port, port_setting="FM_HTTP_PORT")
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    # The caller owns SIGINT/SIGTERM (one stop event for every part), not uvicorn.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    serving = asyncio.create_task(server.serve(sockets=[sock]), name="uvicorn")
    stopping = asyncio.create_task(stop.wait(), name="api-stop")
    try:
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        server.should_exit = True
        stopping.cancel()
        await serving
        sock.close()
