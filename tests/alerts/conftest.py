"""Fixtures for alerts tests: a small site built from the dataclasses and a fresh schema."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.events import DeviceEvent, EventSource
from governance.model import (
    Building,
    CareColour,
    Community,
    Device,
    Grid,
    Member,
    MemberRole,
    Site,
    Street,
    Team,
)
from sensors.catalogue import Severity
from sensors.profiles import PROFILES
from storage.relational.db import create_engine, session_factory
from storage.relational.models import Base

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)

# Devices of the test site, one per building so each care colour and routing case is covered.
LIGHT_RED = "light-red"  # corridor light in a red building that a member answers for
SHED_GREEN = "shed-green"  # charging shed in a green building nobody answers for: the leader
PIPE_YELLOW = "pipe-yellow"  # pipe in a yellow building of the second grid


def build_site() -> Site:
    """Street → one community → two grids, each with its own team."""
    leader_1 = Member("lead-1", "Leader One", MemberRole.LEADER)
    member_1 = Member("mem-1", "Member One", MemberRole.FULL_TIME, buildings=("b-red",))
    leader_2 = Member("lead-2", "Leader Two", MemberRole.LEADER)
    member_2 = Member("mem-2", "Member Two", MemberRole.PART_TIME, buildings=("b-yellow",))
    return Site(
        street=Street("st", "Test Street"),
        communities={"c1": Community("c1", "Community One")},
        grids={
            "g1": Grid("g1", "Grid One", community_id="c1", team_id="t1"),
            "g2": Grid("g2", "Grid Two", community_id="c1", team_id="t2"),
        },
        buildings={
            "b-red": Building("b-red", "Red", grid_id="g1", care=CareColour.RED),
            "b-green": Building("b-green", "Green", grid_id="g1", care=CareColour.GREEN),
            "b-yellow": Building("b-yellow", "Yellow", grid_id="g2", care=CareColour.YELLOW),
        },
        devices={
            LIGHT_RED: Device(LIGHT_RED, "corridor_light", building_id="b-red"),
            SHED_GREEN: Device(SHED_GREEN, "charging_shed", building_id="b-green"),
            PIPE_YELLOW: Device(PIPE_YELLOW, "pipe", building_id="b-yellow"),
        },
        teams={
            "t1": Team("t1", "Team One", grid_id="g1", leader=leader_1, members=(member_1,)),
            "t2": Team("t2", "Team Two", grid_id="g2", leader=leader_2, members=(member_2,)),
        },
        departments={},
    )


@pytest.fixture
def site() -> Site:
    return build_site()


EventFactory = Callable[..., DeviceEvent]


def make_event(
    device_id: str,
    code: str,
    *,
    active: bool = True,
    ts: datetime = T0,
    severity: Severity | None = None,
    source: EventSource = EventSource.RULE,
) -> DeviceEvent:
    """An event with the catalogue severity of the device's type unless one is given."""
    if severity is None:
        device_type = build_site().devices[device_id].type
        severity = PROFILES[device_type].severity_of(code)
    return DeviceEvent(device_id, code, active, severity, ts, source)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database per test: a SQLite file, and a real PostgreSQL server's."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'alerts.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


async def create_schema(engine: AsyncEngine) -> None:
    """Tests build the schema from the models; production runs the Alembic migrations."""
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await create_schema(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)
