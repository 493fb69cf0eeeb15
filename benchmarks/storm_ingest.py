"""Telemetry ingestion while a fault storm is committed: alerts in the gateway's process, or in
a process of their own (``FM_ALERTS_HANDOFF=inbox`` and ``fm alerts``).

One event loop runs the Gateway (telemetry from a real Mosquitto) and the EventIntake it hands
events to; that intake handles them (inline) or commits them to the inbox for a separate alerts
process (benchmarks/alerts_process.py). A separate process floods healthy telemetry. Once a
quarter of the flood has arrived, all 448 corridor-light short circuits are handed to the intake
at once (as the gateway hands them over) and the telemetry rate is measured until every order is
committed. The same flood is then run again without the storm, and the rate measured over a
window of the same length starting at the same point of the flood: the baseline. Alert handling
must not stall ingestion: the first rate should stay at least 80 % of the second.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from alerts.intake import EventIntake
from benchmarks.alerts_process import alerts_process, inbox_writer
from benchmarks.servers import mosquitto
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
#: The flood is steady once this share of it has arrived; the storm comes then.
FLOOD_PARTS = 4
#: The baseline in the same flood: the rate over this long just before the storm.
BEFORE_S = 1.0


@dataclass(frozen=True, slots=True)
class StormIngest:
    """Telemetry rates without and during the storm, and how the storm went."""

    without: float  # telemetry messages/s over the same window of the same flood, no storm
    before: float  # telemetry messages/s in the second before the storm, same flood
    during: float  # telemetry messages/s while the storm was being committed
    storm_s: float  # from handing the storm over until every order committed
    orders: int  # orders the storm opened
    flood_outlasted_storm: bool  # the flood was still running when the storm was committed


@dataclass(frozen=True, slots=True)
class _Window:
    rate: float  # telemetry messages/s in the window
    before: float  # telemetry messages/s over BEFORE_S just before the window
    seconds: float
    orders: int
    flood_outlasted: bool


async def _until(condition: Callable[[], bool]) -> None:
    deadline = time.perf_counter() + TIMEOUT_S
    # Polling the gateway's counter adds nothing to its hot path (an Event would).
    while not condition() and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(POLL_S)


async def _flood(count: int, url: str, *, storm: bool, window_s: float, separate: bool) -> _Window:
    """One flood through a fresh broker; the window holds the storm, or lasts ``window_s``.

    ``separate``: alerts run in their own process (the gateway commits events to the inbox);
    else in the gateway's process, as ``FM_ALERTS_HANDOFF=inline``.
    """
    await upgrade_database(url)
    site = bench_site()
    engine = create_engine(url)
    try:
        with mosquitto() as port, contextlib.ExitStack() as processes:
            settings = Settings(mqtt_url=f"mqtt://{HOST}:{port}", mqtt_client_id="bench-gateway")
            sessions = session_factory(engine)
            alerts = processes.enter_context(alerts_process(url)) if separate else None
            intake = (
                inbox_writer(sessions, site)
                if separate
                else EventIntake(sessions=sessions, site=site, settings=settings)
            )

            def opened() -> int:
                return intake.stats.opened if alerts is None else alerts.opened

            async with intake:
                await intake.publish(warm_up_event(site))
                await intake.settled()
                await _until(lambda: opened() >= 1)
                opened_before = opened()
                gateway = Gateway(settings=settings, site=site, store=NullStore(), sink=intake)
                async with gateway:
                    await asyncio.wait_for(gateway.ready(), TIMEOUT_S)
                    publisher = start_publisher(port, count, lights(site))
                    stats = gateway.stats
                    await _until(lambda: stats.received >= count // FLOOD_PARTS)
                    # The rate just before, in the same flood: a steadier baseline than one
                    # window of a few hundred milliseconds in another flood.
                    ahead, ahead_at = stats.received, time.perf_counter()
                    await asyncio.sleep(BEFORE_S)
                    # The window is timed without polling: the benchmark itself stays idle.
                    first, started = stats.received, time.perf_counter()
                    before = (first - ahead) / (started - ahead_at)
                    if storm:
                        events = storm_events(site)
                        for event in events:
                            await intake.publish(event)
                        await intake.settled()
                        await _until(lambda: opened() >= opened_before + len(events))
                    else:
                        await asyncio.sleep(window_s)
                    seconds = time.perf_counter() - started
                    window = _Window(
                        rate=(stats.received - first) / seconds,
                        before=before,
                        seconds=seconds,
                        orders=opened() - opened_before,
                        flood_outlasted=stats.received < count,
                    )
                    await _until(lambda: stats.received >= count)
                    publisher.wait()
    finally:
        await engine.dispose()
    return window


async def ingest_during_storm(
    count: int, storm_url: str, baseline_url: str, *, separate: bool
) -> StormIngest:
    """The flood with the storm, then without it over the same window (module docstring)."""
    during = await _flood(count, storm_url, storm=True, window_s=0.0, separate=separate)
    without = await _flood(
        count, baseline_url, storm=False, window_s=during.seconds, separate=separate
    )
    return StormIngest(
        without=without.rate,
        before=during.before,
        during=during.rate,
        storm_s=during.seconds,
        orders=during.orders,
        flood_outlasted_storm=during.flood_outlasted,
    )
