"""The factory: lifespan builds what was not injected and releases it; clock; site; errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import QueuePool

from alerts.errors import (
    AlertsError,
    DispatchNotFoundError,
    HandBackError,
    InvalidScheduleError,
    OrderNotFoundError,
    StaleOrderError,
    UnknownDeviceError,
)
from api.app import create_app
from api.errors import describe_validation_errors, install_error_handlers
from api.resources import AppResources
from core.clock import ManualClock
from core.settings import Settings
from governance.model import Site
from storage.relational.db import create_engine
from storage.relational.migrate import stamp_heads
from storage.relational.models import Base
from tests.api.conftest import T0, FakeTimeSeries, make_order, seed, serve


def test_nothing_is_built_before_startup(settings: Settings, site: Site) -> None:
    app = create_app(settings, site=site, timeseries=FakeTimeSeries())
    assert not hasattr(app.state, "resources")


async def test_lifespan_builds_and_disposes_its_own_engine(
    make_settings: Callable[..., Settings], site: Site
) -> None:
    settings = make_settings()
    # The schema is the migrations' job; the test creates it up front on the same file.
    setup: AsyncEngine = create_engine(settings.effective_database_url)
    async with setup.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
        await connection.run_sync(stamp_heads)
    await setup.dispose()

    app = create_app(settings, site=site, timeseries=FakeTimeSeries())
    async with serve(app) as client:
        resources: AppResources = app.state.resources
        await seed(resources.sessions, make_order())
        ready = await client.get("/readyz")
        orders = await client.get("/api/v1/workorders")
        engine: AsyncEngine = resources.sessions.kw["bind"]
        assert isinstance(engine.pool, QueuePool)
        assert engine.pool.checkedin() >= 1
    # Disposed at shutdown: the pool was replaced by an empty one.
    assert isinstance(engine.pool, QueuePool)
    assert engine.pool.checkedin() == 0
    assert ready.status_code == 200
    assert [o["device_id"] for o in orders.json()] == ["light-1"]
    assert settings.data_dir.is_dir()
    assert not hasattr(app.state, "resources")


async def test_commands_record_the_injected_clock(
    settings: Settings, site: Site, sessions: async_sessionmaker[AsyncSession]
) -> None:
    clock = ManualClock(T0 + timedelta(hours=3))
    app = create_app(
        settings, site=site, sessions=sessions, timeseries=FakeTimeSeries(), clock=clock
    )
    await seed(sessions, make_order())
    async with serve(app) as client:
        acked = await client.post("/api/v1/workorders/1/ack", json={"version": 1})
        clock.advance(60)
        comment = await client.post("/api/v1/workorders/1/comments", json={"body": "on my way"})
    assert acked.status_code == 200, acked.text
    assert acked.json()["acknowledged_at"] == "2024-05-01T11:00:00+00:00"
    assert comment.json()["created_at"] == "2024-05-01T11:01:00+00:00"


@pytest.mark.parametrize(
    ("error", "status_code"),
    [
        (OrderNotFoundError(7), 404),
        (DispatchNotFoundError(order_id=7, department_id="fire"), 404),
        (StaleOrderError(order_id=7, seen=1, version=2, status="open"), 409),
        (HandBackError(order_id=7, reason="it is closed"), 409),
        (InvalidScheduleError("a shift must end after it starts"), 422),
        (UnknownDeviceError("nowhere-1"), 422),
    ],
)
async def test_alerts_errors_answer_by_family(error: AlertsError, status_code: int) -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/fails")
    async def fails() -> None:
        raise error

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/fails")
    assert response.status_code == status_code
    assert response.json() == {"detail": str(error)}


async def test_site_route_lists_the_hierarchy(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/site")
    assert response.status_code == 200
    site = response.json()
    assert site["street"] == {"id": "xincheng", "name": "Xincheng Subdistrict", "city": "Feicheng"}
    assert site["communities"] == [
        {"id": "steel", "name": "Special Steel"},
        {"id": "sunshine", "name": "Sunshine Shuncheng"},
    ]
    assert [g["id"] for g in site["grids"]] == ["steel-1", "sun-1", "sun-2"]
    sun_1 = site["grids"][1]
    assert sun_1["community_id"] == "sunshine"
    assert sun_1["team"]["id"] == "t-sun-1"
    assert sun_1["team"]["leader"] == {
        "id": "lead-sun-1",
        "name": "Leader sun-1",
        "role": "leader",
        "buildings": [],
    }
    assert sun_1["team"]["members"][0]["buildings"] == ["b-sun-1"]
    assert [b["id"] for b in site["buildings"]] == ["b-steel-1", "b-sun-1", "b-sun-2"]
    assert "contact" not in str(site)


async def test_unknown_route_is_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


async def test_openapi_documents_bearer_auth(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "/api/v1/workorders" in schema["paths"]


def test_validation_messages_name_the_parameter() -> None:
    message = describe_validation_errors(
        [
            {"loc": ("query", "limit"), "msg": "Input should be greater than or equal to 1"},
            {"loc": ("query", "type"), "msg": "Value error, unknown device type 'x'"},
            {"loc": ("body", "rating"), "msg": "Field required"},
        ]
    )
    assert message == (
        "query parameter 'limit': Input should be greater than or equal to 1; "
        "query parameter 'type': unknown device type 'x'; "
        "request body field 'rating': Field required"
    )
