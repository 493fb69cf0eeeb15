"""`fm alerts` for the benchmarks: an ``InboxConsumer`` in a process of its own.

The gateway side (the benchmark's own process) hands events to an ``EventIntake`` that commits
them to the inbox, as ``FM_ALERTS_HANDOFF=inbox`` does; the child process handles them, as
``fm alerts`` does, and shares how many orders it has opened through shared memory, so the
benchmark's process watches it without a query.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.inbox.consuming import InboxConsumer
from alerts.inbox.writing import store_in_inbox
from alerts.intake import EventIntake
from benchmarks.support import bench_site
from core.settings import Settings
from governance.model import Site
from storage.relational.db import create_engine, session_factory

POLL_S = 0.001
START_S = 60.0


def inbox_settings() -> Settings:
    """The settings of both sides of the hand-off."""
    return Settings(alerts_handoff="inbox")


def inbox_writer(sessions: async_sessionmaker[AsyncSession], site: Site) -> EventIntake:
    """The gateway's intake committing to the inbox, as ``fm gateway`` does with the setting."""
    return EventIntake(
        sessions=sessions, site=site, settings=inbox_settings(), handler=store_in_inbox
    )


class AlertsProcess:
    """A running consumer process; ``opened`` is how many orders it has opened so far."""

    def __init__(self, opened: Synchronized[int]) -> None:
        self._opened = opened

    @property
    def opened(self) -> int:
        """Orders opened by the process since it started."""
        return int(self._opened.value)


@contextmanager
def alerts_process(url: str) -> Iterator[AlertsProcess]:
    """Run the consumer on ``url`` in a child process until the block ends."""
    context = multiprocessing.get_context("spawn")
    opened: Synchronized[int] = context.Value("q", 0)  # type: ignore[assignment]
    started, stop = context.Event(), context.Event()
    child = context.Process(
        target=_consume, args=(url, opened, started, stop), name="bench-fm-alerts"
    )
    child.start()
    try:
        if not started.wait(START_S):
            raise RuntimeError("the alerts process did not start")
        yield AlertsProcess(opened)
    finally:
        stop.set()
        child.join(START_S)
        if child.is_alive():
            child.kill()


async def until_opened(process: AlertsProcess, count: int, *, timeout_s: float) -> None:
    """Wait until the process has opened ``count`` orders."""
    deadline = time.perf_counter() + timeout_s
    # Reading shared memory costs the benchmark's loop nothing measurable (a query would).
    while process.opened < count:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the alerts process opened {process.opened} of {count} orders")
        await asyncio.sleep(POLL_S)


def _consume(url: str, opened: Synchronized[int], started: Event, stop: Event) -> None:
    asyncio.run(_consume_until_stopped(url, opened, started, stop))


async def _consume_until_stopped(
    url: str, opened: Synchronized[int], started: Event, stop: Event
) -> None:
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        consumer = InboxConsumer(sessions=sessions, site=bench_site(), settings=inbox_settings())
        async with consumer:
            started.set()
            while not stop.is_set():
                opened.value = consumer.stats.opened
                await asyncio.sleep(POLL_S)
    finally:
        await engine.dispose()
