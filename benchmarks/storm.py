"""A fault storm into the real relational store: every corridor light of the demo site reports a
short circuit at once.

Measures how fast the alerts intake commits them as routed work orders (group commit), against
one transaction per event in the same run as the baseline, on SQLite and on PostgreSQL. Each
run first handles one event on another device, as a running service would have: the engine's
connection and statement cache are warm, so the storm measures the storm, not start-up.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy import func, make_url, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.intake import EventIntake
from alerts.orders.raising import handle_event
from benchmarks.alerts_process import alerts_process, inbox_writer, until_opened
from benchmarks.support import bench_site
from core.events import DeviceEvent, EventSource
from core.settings import BUNDLED_SITE, Settings
from governance.loader import load_site
from governance.model import Site
from sensors.profiles import PROFILES
from storage.relational.db import create_engine, session_factory
from storage.relational.migrate import upgrade_database
from storage.relational.models import WorkOrder

STORM_TYPE, STORM_CODE = "corridor_light", "short_circuit"
WARM_UP_TYPE, WARM_UP_CODE = "pipe", "leak"
TIMEOUT_S = 60.0


def _raise(device_id: str, device_type: str, code: str, at: datetime) -> DeviceEvent:
    severity = PROFILES[device_type].severity_of(code)
    return DeviceEvent(device_id, code, True, severity, at, EventSource.RULE)


def storm_events(site: Site) -> list[DeviceEvent]:
    """One short-circuit raise per corridor light of the site."""
    now = datetime.now(UTC)
    return [
        _raise(device.id, STORM_TYPE, STORM_CODE, now)
        for device in site.devices.values()
        if device.type == STORM_TYPE
    ]


def warm_up_event(site: Site) -> DeviceEvent:
    """A raise on a device outside the storm (the first pipe)."""
    pipe = min(device.id for device in site.devices.values() if device.type == WARM_UP_TYPE)
    return _raise(pipe, WARM_UP_TYPE, WARM_UP_CODE, datetime.now(UTC))


async def _storm_orders(url: str) -> int:
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            query = select(func.count()).where(WorkOrder.fault_code == STORM_CODE)
            return int(await session.scalar(query) or 0)
    finally:
        await engine.dispose()


async def storm_with_intake(url: str) -> tuple[float, int, int]:
    """Orders/s through EventIntake's group commit; (rate, storm orders, transactions)."""
    await upgrade_database(url)
    site = load_site(BUNDLED_SITE)
    events = storm_events(site)
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        async with EventIntake(sessions=sessions, site=site, settings=Settings()) as intake:
            await intake.publish(warm_up_event(site))
            await intake.settled()
            warm_up_batches = intake.stats.batches
            started = time.perf_counter()
            for event in events:
                await intake.publish(event)
            await intake.settled()
            elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    batches = intake.stats.batches - warm_up_batches
    return len(events) / elapsed, await _storm_orders(url), batches


async def storm_through_inbox(url: str) -> float:
    """Orders/s when the gateway commits the storm to the inbox and a separate alerts process
    (benchmarks/alerts_process.py) turns it into orders: from hand-over to the last order."""
    await upgrade_database(url)
    site = bench_site()
    events = storm_events(site)
    engine = create_engine(url)
    try:
        with alerts_process(url) as alerts:
            async with inbox_writer(session_factory(engine), site) as intake:
                await intake.publish(warm_up_event(site))
                await until_opened(alerts, 1, timeout_s=TIMEOUT_S)
                started = time.perf_counter()
                for event in events:
                    await intake.publish(event)
                await until_opened(alerts, 1 + len(events), timeout_s=TIMEOUT_S)
                elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    return len(events) / elapsed


async def _commit_alone(
    sessions: async_sessionmaker[AsyncSession], site: Site, event: DeviceEvent
) -> None:
    """One event in its own transaction, as a service without group commit would."""
    async with sessions.begin() as session:
        await handle_event(session, site=site, event=event, now=datetime.now(UTC))


async def storm_one_by_one(url: str) -> float:
    """Orders/s with one transaction per event (``handle_event`` each): the baseline."""
    await upgrade_database(url)
    site = load_site(BUNDLED_SITE)
    events = storm_events(site)
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        await _commit_alone(sessions, site, warm_up_event(site))
        started = time.perf_counter()
        for event in events:
            await _commit_alone(sessions, site, event)
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
    return len(events) / elapsed


def sqlite_url(directory: Path, name: str) -> str:
    """A fresh SQLite database file in ``directory``."""
    return f"sqlite+aiosqlite:///{directory / name}"


def postgres_database(server_url: str, name: str) -> str:
    """A fresh database ``name`` on the server of ``server_url``; its URL."""
    url = make_url(server_url)
    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, dbname=url.database, autocommit=True
    ) as connection:
        connection.execute(f'CREATE DATABASE "{name}"'.encode())
    return url.set(database=name).render_as_string(hide_password=False)
