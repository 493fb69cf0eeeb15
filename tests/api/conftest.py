"""Fixtures for the API tests: a small site, a SQLite store in tmp_path, a client over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.app import create_app
from api.resources import ReadinessProbe
from core.settings import Settings
from governance.model import (
    Building,
    CareColour,
    Community,
    Device,
    Grid,
    Location,
    Member,
    MemberRole,
    Site,
    Street,
    Team,
)
from storage.relational.db import create_engine, session_factory
from storage.relational.migrate import stamp_heads
from storage.relational.models import Base, Episode, OrderStatus, WorkOrder
from storage.tsdb.port import Aggregate, Bucket, Latest, Point, Sample, TimeSeriesStore

TOKEN = "test-admin-token-0123456789abcdef"
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def build_site() -> Site:
    """Two communities, three grids, three buildings, five devices of every type."""
    communities = {
        "sunshine": Community(id="sunshine", name="Sunshine Shuncheng"),
        "steel": Community(id="steel", name="Special Steel"),
    }
    grids = {
        "sun-1": Grid(
            id="sun-1", name="Sunshine grid 1", community_id="sunshine", team_id="t-sun-1"
        ),
        "sun-2": Grid(
            id="sun-2", name="Sunshine grid 2", community_id="sunshine", team_id="t-sun-2"
        ),
        "steel-1": Grid(
            id="steel-1", name="Steel grid 1", community_id="steel", team_id="t-steel-1"
        ),
    }
    teams = {
        grid.team_id: Team(
            id=grid.team_id,
            name=f"Team {grid.name}",
            grid_id=grid.id,
            leader=Member(id=f"lead-{grid.id}", name=f"Leader {grid.id}", role=MemberRole.LEADER),
            members=(
                Member(
                    id=f"member-{grid.id}",
                    name=f"Member {grid.id}",
                    role=MemberRole.FULL_TIME,
                    buildings=(f"b-{grid.id}",) if grid.id == "sun-1" else (),
                ),
            ),
        )
        for grid in grids.values()
    }
    buildings = {
        f"b-{grid.id}": Building(
            id=f"b-{grid.id}",
            name=f"Building of {grid.name}",
            grid_id=grid.id,
            households=24,
            care=CareColour.RED if grid.id == "steel-1" else CareColour.GREEN,
            location=Location(lat=36.2, lon=116.77, text=f"{grid.name}, No. 1"),
        )
        for grid in grids.values()
    }
    devices = {
        d.id: d
        for d in (
            Device(
                id="light-1", type="corridor_light", building_id="b-sun-1", name="Stair light 1"
            ),
            Device(id="pipe-1", type="pipe", building_id="b-sun-1", name="Riser 1"),
            Device(
                id="shed-1",
                type="charging_shed",
                building_id="b-sun-2",
                name="E-bike shed",
                location=Location(lat=36.21, lon=116.78, text="north yard"),
            ),
            Device(
                id="light-2", type="corridor_light", building_id="b-steel-1", name="Stair light 2"
            ),
            Device(id="pipe-2", type="pipe", building_id="b-steel-1", name="Riser 2"),
        )
    }
    return Site(
        street=Street(id="xincheng", name="Xincheng Subdistrict", city="Feicheng"),
        communities=communities,
        grids=grids,
        buildings=buildings,
        devices=devices,
        teams=teams,
        departments={},
    )


class FakeTimeSeries:
    """A time-series store whose ``ping`` answer the test chooses."""

    def __init__(self, *, answers: bool = True) -> None:
        self.answers = answers
        self.opened = False
        self.closed = False

    async def open(self) -> None:
        self.opened = True

    async def close(self) -> None:
        self.closed = True

    async def ping(self) -> bool:
        return self.answers

    async def write(self, points: Sequence[Point]) -> None:
        raise AssertionError("the API never writes telemetry")

    async def read(
        self,
        *,
        device_id: str,
        metric: str,
        start: datetime,
        end: datetime,
        aggregate: Aggregate | None = None,
        every_s: float | None = None,
    ) -> list[Sample]:
        return []

    async def read_buckets(
        self, *, device_id: str, metric: str, start: datetime, end: datetime, every_s: float
    ) -> list[Bucket]:
        return []

    async def latest(self, device_ids: Collection[str]) -> Latest:
        return {}


@pytest.fixture
def site() -> Site:
    return build_site()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a test; keyword arguments override fields (admin_token=None: no token)."""
    site_file = tmp_path / "site.yaml"
    site_file.write_text("# the tests pass a built Site; Settings only checks the file exists\n")

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "site_file": site_file,
            "data_dir": tmp_path / "var",
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'fm.sqlite3'}",
            "admin_token": SecretStr(TOKEN),
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings.effective_database_url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
        await connection.run_sync(stamp_heads)  # built from the models: as migrated as can be
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@asynccontextmanager
async def serve(app: FastAPI, *, token: str | None = TOKEN) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and give a client that talks to it over ASGI."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver", headers=headers
        ) as client,
    ):
        yield client


@pytest.fixture
def make_app(
    settings: Settings, site: Site, sessions: async_sessionmaker[AsyncSession]
) -> Callable[..., FastAPI]:
    """The app with the test's site, store and a healthy fake time-series store by default."""

    def make(
        *,
        settings: Settings = settings,
        timeseries: TimeSeriesStore | None = None,
        readiness: Sequence[ReadinessProbe] = (),
    ) -> FastAPI:
        return create_app(
            settings,
            site=site,
            sessions=sessions,
            timeseries=timeseries or FakeTimeSeries(),
            readiness=readiness,
        )

    return make


@pytest.fixture
async def client(make_app: Callable[..., FastAPI]) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(make_app()) as client:
        yield client


def make_order(**fields: Any) -> WorkOrder:
    """A work-order row with plausible defaults; ``fields`` override them."""
    created_at = fields.pop("created_at", T0)
    values: dict[str, Any] = {
        "device_id": "light-1",
        "fault_code": "lamp_failure",
        "severity": "minor",
        "priority": 0,
        "status": OrderStatus.OPEN.value,
        "tier": "grid",
        "building_id": "b-sun-1",
        "grid_id": "sun-1",
        "community_id": "sunshine",
        "team_id": "t-sun-1",
        "assignee": "member-sun-1",
        "detail": "",
        "created_at": created_at,
        "updated_at": created_at,
        "occurrences": 1,
    }
    values.update(fields)
    status = OrderStatus(values["status"])
    if "open_key" not in fields and not status.is_terminal:
        values["open_key"] = (
            f"{values['device_id']}:{values['fault_code']}:{created_at.isoformat()}"
        )
    return WorkOrder(**values)


def make_episode(
    device_id: str, code: str, *, severity: str = "minor", minutes: int = 0, ended: bool = False
) -> Episode:
    """An episode of ``code`` that started ``minutes`` after T0, still open unless ``ended``."""
    started_at = T0 + timedelta(minutes=minutes)
    return Episode(
        device_id=device_id,
        code=code,
        severity=severity,
        source="rule",
        detail=f"{code} seen by the test",
        started_at=started_at,
        ended_at=started_at + timedelta(minutes=5) if ended else None,
        open_key=None if ended else f"{device_id}:{code}",
    )


async def seed(sessions: async_sessionmaker[AsyncSession], *rows: Base) -> None:
    """Insert rows in one transaction."""
    async with sessions() as session, session.begin():
        session.add_all(rows)
