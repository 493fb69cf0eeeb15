"""GET /api/v1/stream over a real uvicorn server: live events, Last-Event-ID replay, heartbeats."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.notifications.channels.broadcast import StreamEvent, StreamHub
from alerts.orders.raising import handle_event
from api.app import create_app
from core.events import DeviceEvent, EventSource
from core.settings import Settings
from governance.model import Site
from sensors.catalogue import Severity
from tests.alerts.outbox_helpers import until
from tests.api.conftest import TOKEN, FakeTimeSeries
from tests.servers.ports import free_port

DEADLINE_S = 10.0
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[str]:
    """The app on a real uvicorn server on a free port; its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none")
    )
    task = asyncio.create_task(server.serve())
    try:
        await until(lambda: server.started, "uvicorn to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def raise_fault(
    sessions: async_sessionmaker[AsyncSession], site: Site, device_id: str, code: str
) -> None:
    now = datetime.now(UTC)
    event = DeviceEvent(device_id, code, True, Severity.MAJOR, now, EventSource.RULE)
    async with sessions.begin() as session:
        await handle_event(session, site=site, event=event, now=now)


async def read_events(lines: AsyncIterator[str], count: int) -> list[dict[str, str]]:
    """The next ``count`` events (comments skipped), each as its field → value."""
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    async with asyncio.timeout(DEADLINE_S):
        async for line in lines:
            if line.startswith(":"):
                continue
            if line == "":
                if current:
                    events.append(current)
                    current = {}
                    if len(events) == count:
                        return events
                continue
            name, _, value = line.partition(": ")
            current[name] = value
    raise AssertionError("the stream ended early")


@pytest.fixture
def stream_app(
    make_settings: Callable[..., Settings],
    site: Site,
    sessions: async_sessionmaker[AsyncSession],
) -> FastAPI:
    settings = make_settings(outbox_poll_interval_s=0.02, stream_heartbeat_s=0.05)
    return create_app(settings, site=site, sessions=sessions, timeseries=FakeTimeSeries())


async def test_live_events_replay_and_heartbeats(
    stream_app: FastAPI, sessions: async_sessionmaker[AsyncSession], site: Site
) -> None:
    await raise_fault(sessions, site, "light-1", "short_circuit")  # before anyone listens
    async with running(stream_app) as base, httpx.AsyncClient(base_url=base, headers=AUTH) as http:
        async with http.stream("GET", "/api/v1/stream") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.aiter_lines()
            assert await anext(lines) == ": heartbeat"  # the stream opens at once
            await raise_fault(sessions, site, "pipe-1", "leak")
            [live] = await read_events(lines, 1)
            # Idle: heartbeats keep coming.
            async with asyncio.timeout(DEADLINE_S):
                while (await anext(lines)) != ": heartbeat":
                    pass
        assert live["event"] == "opened"
        data = json.loads(live["data"])
        assert (data["device_id"], data["fault_code"], data["change"]) == (
            "pipe-1",
            "leak",
            "opened",
        )
        assert data["id"].endswith(":sse")

        # Reconnecting with an older id replays what came after it, then goes live.
        first_id = int(live["id"]) - 1  # any id below the live one
        headers = {"Last-Event-ID": str(first_id)}
        async with http.stream("GET", "/api/v1/stream", headers=headers) as response:
            lines = response.aiter_lines()
            [replayed] = await read_events(lines, 1)
            await raise_fault(sessions, site, "shed-1", "smoke")
            [after] = await read_events(lines, 1)
        assert replayed == live
        assert json.loads(after["data"])["fault_code"] == "smoke"
        assert int(after["id"]) > int(live["id"])

        # letters, 5,000 digits, a sign, a number past what an outbox id can be
        for malformed in ("x1", "9" * 5000, "-1", "9999999999"):
            bad = await http.get("/api/v1/stream", headers={"Last-Event-ID": malformed})
            assert bad.status_code == 400, malformed
        assert (await http.get("/api/v1/stream", headers={"Authorization": ""})).status_code == 401


async def test_a_slow_subscriber_is_dropped_not_buffered(
    make_settings: Callable[..., Settings], sessions: async_sessionmaker[AsyncSession]
) -> None:
    hub = StreamHub(sessions=sessions, settings=make_settings(stream_queue_max=2))
    slow, fast = await hub.subscribe(), await hub.subscribe()
    try:
        hub.publish([StreamEvent(1, "opened", "{}"), StreamEvent(2, "opened", "{}")])
        assert [(await fast.next(1.0)) for _ in range(2)] == [
            StreamEvent(1, "opened", "{}"),
            StreamEvent(2, "opened", "{}"),
        ]
        hub.publish([StreamEvent(3, "recovered", "{}")])
        assert slow.dropped and not fast.dropped and hub.subscribers == 1
        assert [await slow.next(1.0) for _ in range(3)][-1] is None  # told to go, after 2
        assert await fast.next(1.0) == StreamEvent(3, "recovered", "{}")
        hub.unsubscribe(fast)
        hub.unsubscribe(slow)
        assert hub.subscribers == 0
    finally:
        await hub.close()
