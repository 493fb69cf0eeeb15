"""Telemetry ingestion while a fault storm is committed, in the same process.

The production shape: one event loop runs the Gateway (telemetry from a real Mosquitto) and the
EventIntake it hands events to. A separate process floods healthy telemetry; once the rate is
steady it is measured over a quarter of the flood, then all 448 corridor-light short circuits
are handed to the intake at once (as the gateway hands them over) and the telemetry rate is
measured again from that moment until every order is committed. Alert handling must not stall
ingestion: the second rate should stay at least 80 % of the first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from alerts.intake import EventIntake
from benchmarks.storm import storm_events, warm_up_event
from benchmarks.support import NullStore, bench_site, lights
from benchmarks.throughput import start_publisher
from core.settings import Settings
from gateway.service import Gateway
from storage.relational.db import create_engine, session_factory
from storage.relational.migrate import upgrade_database

HOST = "127.0.0.1"
POLL_S = 0.001
TIMEOUT_S = 60.0
#: The flood is cut in quarters: warm-up, the baseline window, the storm, what is left.
FLOOD_PARTS = 4


@dataclass(frozen=True, slots=True)
class StormIngest:
    """Telemetry rates without and during the storm, and how the storm went."""

    without: float  # telemetry messages/s before the storm
    during: float  # telemetry messages/s while the storm was being committed
    storm_s: float  # from handing the storm over until every order committed
    orders: int  # orders the storm opened
    flood_outlasted_storm: bool  # the flood was still running when the storm was committed


async def _until(condition: Callable[[], bool]) -> None:
    deadline = time.perf_counter() + TIMEOUT_S
    # Polling the gateway's counter adds nothing to its hot path (an Event would).
    while not condition() and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(POLL_S)


async def ingest_during_storm(port: int, count: int, url: str) -> StormIngest:
    """Run the flood and the storm (module docstring) against ``url``."""
    await upgrade_database(url)
    site = bench_site()
    storm = storm_events(site)
    settings = Settings(mqtt_url=f"mqtt://{HOST}:{port}", mqtt_client_id="bench-gateway")
    engine = create_engine(url)
    part = count // FLOOD_PARTS
    try:
        sessions = session_factory(engine)
        async with EventIntake(sessions=sessions, site=site, settings=settings) as intake:
            await intake.publish(warm_up_event(site))
            await intake.settled()
            gateway = Gateway(settings=settings, site=site, store=NullStore(), sink=intake)
            async with gateway:
                await asyncio.wait_for(gateway.ready(), TIMEOUT_S)
                publisher = start_publisher(port, count, lights(site))
                stats = gateway.stats
                await _until(lambda: stats.received >= part)
                first, started = stats.received, time.perf_counter()
                await _until(lambda: stats.received >= first + part)
                without = (stats.received - first) / (time.perf_counter() - started)

                opened_before = intake.stats.opened
                first, started = stats.received, time.perf_counter()
                for event in storm:
                    await intake.publish(event)
                await intake.settled()
                storm_s = time.perf_counter() - started
                during = (stats.received - first) / storm_s
                outlasted = stats.received < count
                await _until(lambda: stats.received >= count)
                publisher.wait()
    finally:
        await engine.dispose()
    return StormIngest(
        without=without,
        during=during,
        storm_s=storm_s,
        orders=intake.stats.opened - opened_before,
        flood_outlasted_storm=outlasted,
    )
