"""The gateway's own metrics listener: a real uvicorn socket in the test's loop, on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.settings import Settings
from fm.listening import ListenError, listen
from fm.metrics_listener import MetricsListener
from gateway.metrics import GatewayCollector
from gateway.stats import GatewayStats
from storage.relational.db import create_engine, session_factory
from storage.relational.migrate import upgrade_database
from tests.api.conftest import make_order, seed
from tests.fm.metrics_text import parse
from tests.servers.ports import free_port


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fm.sqlite3'}"
    await upgrade_database(url)
    engine = create_engine(url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


def listener_settings(tmp_path: Path, port: int) -> Settings:
    return Settings(data_dir=tmp_path, metrics_host="127.0.0.1", metrics_port=port)


async def scrape(port: int) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.get(f"http://127.0.0.1:{port}/metrics")


async def test_a_scrape_shows_the_parts_and_the_relational_gauges(
    tmp_path: Path, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await seed(sessions, make_order(severity="critical", fault_code="smoke", device_id="shed-1"))
    stats = GatewayStats(received=5, accepted=4)
    stats.reject("bad_json")
    port = free_port()

    async with MetricsListener(
        settings=listener_settings(tmp_path, port),
        sessions=sessions,
        collectors=[GatewayCollector(stats)],
    ):
        response = await scrape(port)
        stats.received += 1
        later = parse((await scrape(port)).text)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = parse(response.text)
    assert found[("fm_gateway_messages_received_total", ())] == 5
    assert found[("fm_gateway_messages_rejected_total", (("reason", "bad_json"),))] == 1
    assert found[("fm_workorders_open", (("severity", "critical"), ("tier", "grid")))] == 1
    assert found[("fm_outbox_messages", (("state", "pending"),))] == 0
    assert found[("fm_relational_store_up", ())] == 1
    assert later[("fm_gateway_messages_received_total", ())] == 6
    with pytest.raises(httpx.TransportError):
        await scrape(port)  # stopped with the context


async def test_a_database_that_does_not_answer_leaves_only_its_gauges_out(
    tmp_path: Path,
) -> None:
    # SQLite cannot open a file in a directory that does not exist: an OperationalError per query.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'fm.sqlite3'}")
    port = free_port()
    try:
        async with MetricsListener(
            settings=listener_settings(tmp_path, port),
            sessions=session_factory(engine),
            collectors=[GatewayCollector(GatewayStats(received=2))],
        ):
            response = await scrape(port)
    finally:
        await engine.dispose()

    assert response.status_code == 200
    found = parse(response.text)
    assert found[("fm_relational_store_up", ())] == 0
    assert found[("fm_gateway_messages_received_total", ())] == 2
    assert not any(name.startswith("fm_workorders") for name, _ in found)


async def test_a_taken_port_is_a_startup_error_naming_the_setting(
    tmp_path: Path, sessions: async_sessionmaker[AsyncSession]
) -> None:
    port = free_port()
    taken = listen("127.0.0.1", port, port_setting="FM_HTTP_PORT")
    try:
        with pytest.raises(ListenError, match="FM_METRICS_PORT"):
            async with MetricsListener(
                settings=listener_settings(tmp_path, port), sessions=sessions, collectors=[]
            ):
                pass
    finally:
        taken.close()
