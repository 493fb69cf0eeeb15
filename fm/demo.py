"""`fm demo`: broker, simulated fleet, gateway, alerts, API and dashboard in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import sys
from pathlib import Path

from pydantic import SecretStr

from alerts.inbox.consuming import InboxConsumer
from alerts.metrics.parts import IntakeCollector
from core.clock import utcnow
from core.mqtt import broker_address
from core.settings import Settings
from fm.broker import OPEN_BROKER_NOTICE, EmbeddedBroker
from fm.crews import SimulatedCrews, load_crew_plan
from fm.history import HistorySource, load_history_plan, seed_history
from fm.runner import AlertsParts, Stores, alerts_intake, open_stores, point_spool, serve_api
from fm.simulation import (
    DEMO_SEED,
    SimulatorThread,
    build_simulator,
    simulated_fleet,
    utc_offset_hours,
)
from gateway.metrics import GatewayCollector
from gateway.service import Gateway
from gateway.state import SqlStateStore
from governance.model import Site
from sensors.simulator import FleetSimulator
from sensors.street_life import BUNDLED_LIFE, load_street_life

log = logging.getLogger(__name__)

TOKEN_FILE = "admin-token"


def demo_admin_token(settings: Settings) -> str:
    """FM_ADMIN_TOKEN, else the token saved in the data dir, else a new one saved there (0600)."""
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value()
    path: Path = settings.data_dir / TOKEN_FILE
    if path.is_file():
        saved = path.read_text(encoding="utf-8").strip()
        if saved:
            return saved
    token = secrets.token_urlsafe(32)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token


def banner(settings: Settings, *, token: str, site: Site, simulated: int) -> str:
    """What the operator needs to start using the demo."""
    mqtt = broker_address(settings)
    host = "127.0.0.1" if settings.http_host in {"0.0.0.0", "::"} else settings.http_host
    base = f"http://{host}:{settings.http_port}"
    fleet = (
        f"{simulated} simulated devices" if simulated else "no simulated fleet (FM_SIMULATE=false)"
    )
    return "\n".join(
        [
            "",
            f"facility monitor demo — {site.street.name}: {len(site.communities)} communities, "
            f"{len(site.grids)} grids, {len(site.devices)} devices; {fleet}",
            f"  dashboard     {base}/",
            f"  API           {base}/api/v1/workorders   (Authorization: Bearer <token>)",
            f"  admin token   {token}",
            f"  MQTT broker   mqtt://{mqtt.host}:{mqtt.port}   "
            f"(topics {settings.mqtt_prefix}/<device>/telemetry|event|status)",
            *([f"                {OPEN_BROKER_NOTICE}"] if not settings.mqtt_url else []),
            f"  data          {settings.data_dir.resolve()}",
            "  Ctrl-C stops everything.",
            "",
        ]
    )


async def _seed(site: Site, stores: Stores, life_file: Path, days: float) -> None:
    """``--history-days``: the past of the simulated street, written once before it comes alive."""
    source = HistorySource(
        fleet=simulated_fleet(site),
        life=load_street_life(life_file),
        crews=load_crew_plan(life_file),
        plan=load_history_plan(life_file),
        seed=DEMO_SEED,
        utc_offset_h=utc_offset_hours(site),
    )
    log.info("history: seeding %g days unless this data directory has them already", days)
    report = await seed_history(
        sessions=stores.sessions,
        timeseries=stores.timeseries,
        site=site,
        source=source,
        days=days,
        now=utcnow(),
    )
    if report is not None:
        print(
            f"history: {report.days:g} days seeded in {report.seconds:.1f} s "
            f"({report.episodes} closed orders, {report.points} readings)",
            file=sys.stderr,
            flush=True,
        )


async def run_demo(
    settings: Settings,
    *,
    site: Site,
    stop: asyncio.Event,
    history_days: float = 0,
    street_life: Path | None = BUNDLED_LIFE,
) -> None:
    """Run every part until ``stop`` is set, then shut down in reverse order.

    With the simulated fleet, ``street_life`` (a profile file; None for a calm street) makes
    devices fail at its rates and simulated crews work those orders, and ``history_days`` of
    history are seeded first (once per data directory). The fleet stops after the gateway, so
    devices leaving at shutdown do not raise offline orders; the broker stops last.
    """
    token = demo_admin_token(settings)
    # A token the operator chose stays off the terminal (and out of its scrollback and logs).
    shown = "(FM_ADMIN_TOKEN, not repeated here)" if settings.admin_token is not None else token
    settings = settings.model_copy(update={"admin_token": SecretStr(token)})
    async with contextlib.AsyncExitStack() as stack:
        if not settings.mqtt_url:
            mqtt = broker_address(settings)
            await stack.enter_async_context(EmbeddedBroker(host=mqtt.host, port=mqtt.port))
        stores = await stack.enter_async_context(open_stores(settings, migrate=True, site=site))
        simulated = 0
        fleet: FleetSimulator | None = None
        if settings.simulate:
            if street_life is not None and history_days > 0:
                await _seed(site, stores, street_life, history_days)
            life = load_street_life(street_life) if street_life is not None else None
            fleet = build_simulator(settings=settings, site=site, life=life)
            await stack.enter_async_context(SimulatorThread(fleet))
            simulated = len(site.devices)
        # Entered before the gateway: the relay stops after it and delivers the last notifications.
        parts = await stack.enter_async_context(
            AlertsParts(settings=settings, site=site, stores=stores)
        )
        if settings.alerts_handoff == "inbox":
            # Everything runs in this one process: the inbox is handled here too.
            await stack.enter_async_context(
                InboxConsumer(sessions=stores.sessions, site=site, settings=settings)
            )
        if fleet is not None and street_life is not None:
            plan = load_crew_plan(street_life)
            await stack.enter_async_context(
                SimulatedCrews(
                    sessions=stores.sessions, site=site, fleet=fleet, plan=plan, seed=DEMO_SEED
                )
            )
        sink = await stack.enter_async_context(
            alerts_intake(settings=settings, site=site, stores=stores)
        )
        gateway = await stack.enter_async_context(
            Gateway(
                settings=settings,
                site=site,
                store=stores.timeseries,
                sink=sink,
                state_store=SqlStateStore(stores.sessions),
                spool=point_spool(settings),
            )
        )
        await gateway.ready()
        print(
            banner(settings, token=shown, site=site, simulated=simulated),
            file=sys.stderr,
            flush=True,
        )
        # The API's /metrics shows every part of this one process (no separate metrics port).
        collectors = [
            GatewayCollector(gateway.stats),
            IntakeCollector(sink.stats),
            *parts.collectors(),
        ]
        await serve_api(
            settings=settings,
            site=site,
            stores=stores,
            stop=stop,
            gateway=gateway,
            collectors=collectors,
            fleet=fleet,
        )
    log.info("demo stopped")
