"""/healthz always answers; /readyz answers 200 only when every store and probe does, and the
relational schema is at the code's revision."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from api.app import create_app
from core.settings import Settings
from governance.model import Site
from storage.relational.db import create_engine, session_factory
from storage.relational.migrate import upgrade_database
from tests.api.conftest import FakeTimeSeries, serve


@dataclass
class Probe:
    """A readiness probe with a chosen answer."""

    name: str
    answer: bool = True
    error: Exception | None = None
    calls: int = 0

    async def check(self) -> bool:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.answer


@dataclass
class HangingProbe:
    """A probe that never answers (a wedged dependency)."""

    name: str = "hanging"
    never: asyncio.Event = field(default_factory=asyncio.Event)

    async def check(self) -> bool:
        await self.never.wait()
        return True


async def test_healthz_is_always_200(make_app: Callable[..., FastAPI]) -> None:
    app = make_app(timeseries=FakeTimeSeries(answers=False), readiness=[Probe("mqtt", False)])
    async with serve(app, token=None) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_200_when_everything_answers(make_app: Callable[..., FastAPI]) -> None:
    probe = Probe("mqtt")
    async with serve(make_app(readiness=[probe]), token=None) as client:
        response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "timeseries": "ok", "mqtt": "ok"},
    }
    assert probe.calls == 1


async def test_readyz_503_names_the_failing_probe(make_app: Callable[..., FastAPI]) -> None:
    app = make_app(readiness=[Probe("mqtt", answer=False), Probe("gateway")])
    async with serve(app, token=None) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {
        "database": "ok",
        "timeseries": "ok",
        "mqtt": "failed",
        "gateway": "ok",
    }
    assert body["detail"] == "not ready: mqtt (failed)"


async def test_readyz_503_when_timeseries_ping_fails(make_app: Callable[..., FastAPI]) -> None:
    async with serve(make_app(timeseries=FakeTimeSeries(answers=False)), token=None) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["timeseries"] == "failed"
    assert "timeseries" in response.json()["detail"]


async def test_readyz_503_when_a_probe_raises(make_app: Callable[..., FastAPI]) -> None:
    app = make_app(readiness=[Probe("mqtt", error=ConnectionRefusedError("broker down"))])
    async with serve(app, token=None) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["mqtt"] == "error"


async def test_readyz_bounds_a_hanging_probe(
    make_app: Callable[..., FastAPI], make_settings: Callable[..., Settings]
) -> None:
    app = make_app(settings=make_settings(readiness_timeout_s=0.05), readiness=[HangingProbe()])
    async with serve(app, token=None) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["hanging"] == "timeout"


async def test_readyz_503_when_database_cannot_open(
    make_settings: Callable[..., Settings], site: Site, tmp_path: Path
) -> None:
    # A SQLite file in a directory that does not exist: connecting fails.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'fm.sqlite3'}")
    try:
        app = create_app(
            make_settings(),
            site=site,
            sessions=session_factory(engine),
            timeseries=FakeTimeSeries(),
        )
        async with serve(app) as client:
            ready = await client.get("/readyz")
            listing = await client.get("/api/v1/workorders")
    finally:
        await engine.dispose()
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "error"
    # A route that needs the store says what to check, as JSON, without internals.
    assert listing.status_code == 503
    assert "FM_DATABASE_URL" in listing.json()["detail"]


@pytest.mark.parametrize(
    ("schema", "ready"),
    [
        ("empty", False),  # never migrated: every query would fail
        ("0003_lifecycle", False),  # a release behind the code
        ("heads", True),
    ],
)
async def test_readyz_reports_the_database_only_when_migrated_to_the_code(
    make_settings: Callable[..., Settings], site: Site, tmp_path: Path, schema: str, ready: bool
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fm.sqlite3'}"
    if schema != "empty":
        await upgrade_database(url, schema)
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        app = create_app(make_settings(), site=site, sessions=sessions, timeseries=FakeTimeSeries())
        async with serve(app) as client:
            response = await client.get("/readyz")
    finally:
        await engine.dispose()
    assert (response.status_code, response.json()["checks"]["database"]) == (
        (200, "ok") if ready else (503, "failed")
    )


async def test_injected_timeseries_is_left_open(make_app: Callable[..., FastAPI]) -> None:
    store = FakeTimeSeries()
    async with serve(make_app(timeseries=store), token=None) as client:
        response: httpx.Response = await client.get("/readyz")
    assert response.status_code == 200
    assert not store.closed
