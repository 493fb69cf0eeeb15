"""A fault storm into the real relational store: every corridor light of the demo site reports a
short circuit at once. Measures how fast the alerts intake commits them as routed work orders
(group commit), against one-event-per-transaction handling in the same run as the baseline."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from alerts.intake import EventIntake
from alerts.sink import AlertsSink
from core.events import DeviceEvent, EventSource
from core.settings import BUNDLED_SITE, Settings
from governance.loader import load_site
from governance.model import Site
from sensors.profiles import PROFILES
from storage.relational.db import create_engine, session_factory
from storage.relational.migrate import upgrade_database
from storage.relational.models import WorkOrder


def storm_events(site: Site) -> list[DeviceEvent]:
    """One short-circuit raise per corridor light of the site."""
    now = datetime.now(UTC)
    severity = PROFILES["corridor_light"].severity_of("short_circuit")
    return [
        DeviceEvent(device.id, "short_circuit", True, severity, now, EventSource.RULE)
        for device in site.devices.values()
        if device.type == "corridor_light"
    ]


async def _orders(url: str) -> int:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            return int(await session.scalar(select(func.count()).select_from(WorkOrder)) or 0)
    finally:
        await engine.dispose()


async def storm_with_intake(url: str) -> tuple[float, int, int]:
    """Orders/s through EventIntake's group commit; (rate, orders, transactions)."""
    await upgrade_database(url)
    site = load_site(BUNDLED_SITE)
    events = storm_events(site)
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        async with EventIntake(sessions=sessions, site=site, settings=Settings()) as intake:
            started = time.perf_counter()
            for event in events:
                await intake.publish(event)
            await intake.wait_committed(intake.last_ticket)
            elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    return len(events) / elapsed, await _orders(url), intake.stats.batches


async def storm_one_by_one(url: str) -> float:
    """Orders/s with one transaction per event (the previous sink): the baseline."""
    await upgrade_database(url)
    site = load_site(BUNDLED_SITE)
    events = storm_events(site)
    engine = create_engine(url)
    try:
        sink = AlertsSink(sessions=session_factory(engine), site=site)
        started = time.perf_counter()
        for event in events:
            await sink.publish(event)
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    return len(events) / elapsed


def sqlite_url(directory: Path, name: str) -> str:
    """A fresh SQLite database file in ``directory``."""
    return f"sqlite+aiosqlite:///{directory / name}"
