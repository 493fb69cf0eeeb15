"""The residents' domain on SQLite and on a real PostgreSQL server: merge, notices (row locks
with SKIP LOCKED on PostgreSQL), rejection, listing filters and figures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from alerts.orders.lifecycle import Action, transition
from alerts.orders.raising import handle_event
from core.events import DeviceEvent, EventSource
from governance.model import Site
from residents.feedback import Feedback, give_feedback
from residents.figures import combined, satisfaction
from residents.followers import notify_resolved
from residents.locating import Place
from residents.notice import notice_board
from residents.public import RequestFilter, find_requests
from residents.reporting import ContactDetails, NewReport, Submitted, submit
from residents.settings import ResidentSettings
from sensors.catalogue import Severity
from storage.relational.db import create_engine, session_factory
from storage.relational.models import Base, OrderStatus, WorkOrder
from storage.relational.resident_models import ResidentNotice

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
SETTINGS = ResidentSettings()
BATCH = 100


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'residents.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


async def report(
    sessions: async_sessionmaker[AsyncSession],
    site: Site,
    code: str,
    building: str,
    *,
    at: datetime = NOW,
    email: str | None = None,
) -> Submitted:
    async with sessions.begin() as session:
        return await submit(
            session,
            site=site,
            settings=SETTINGS,
            report=NewReport(code, Place(address_id=building), contact=ContactDetails(email=email)),
            client="198.51.100.7",
            now=at,
        )


async def act(
    sessions: async_sessionmaker[AsyncSession], site: Site, order_id: int, action: Action
) -> None:
    async with sessions.begin() as session:
        order = await session.get(WorkOrder, order_id)
        assert order is not None
        await transition(
            session,
            site=site,
            order_id=order_id,
            action=action,
            version=order.version,
            actor="crew",
            now=NOW + timedelta(minutes=30),
        )


async def test_merge_notify_reject_and_figures(
    sessions: async_sessionmaker[AsyncSession], site: Site
) -> None:
    event = DeviceEvent("pipe-1", "leak", True, Severity.MAJOR, NOW, EventSource.RULE)
    async with sessions.begin() as session:
        [opened, *_] = await handle_event(session, site=site, event=event, now=NOW)
    first = await report(sessions, site, "water_leak", "b-sun-1", email="a@example.org")
    second = await report(sessions, site, "water_leak", "b-sun-1", email="b@example.org")
    drain = await report(sessions, site, "blocked_drain", "b-sun-1")
    assert first.order.id == second.order.id == opened.order_id
    assert drain.order.id != opened.order_id and drain.order.fault_code == "report:blocked_drain"

    await act(sessions, site, opened.order_id, Action.RESOLVE)
    async with sessions.begin() as session:
        told = await notify_resolved(session, site=site, endpoint_id=None, now=NOW, limit=BATCH)
    async with sessions.begin() as session:
        again = await notify_resolved(session, site=site, endpoint_id=None, now=NOW, limit=BATCH)
        notices = await session.scalar(select(func.count()).select_from(ResidentNotice))
    assert (told, again, notices) == (2, 0, 2)

    async with sessions.begin() as session:
        await give_feedback(
            session,
            site=site,
            token=second.token,
            feedback=Feedback(rating=2),
            max_comment_chars=SETTINGS.max_comment_chars,
            now=NOW + timedelta(hours=1),
        )
    async with sessions.begin() as session:
        await give_feedback(
            session,
            site=site,
            token=first.token,
            feedback=Feedback(accepted=False),
            max_comment_chars=SETTINGS.max_comment_chars,
            now=NOW + timedelta(hours=1),
        )
        order = await session.get(WorkOrder, opened.order_id)
        assert order is not None and order.status == OrderStatus.IN_PROGRESS

    async with sessions() as session:
        open_ones = await find_requests(
            session,
            site=site,
            wanted=RequestFilter(status="open"),
            now=NOW + timedelta(days=1),
            default_days=SETTINGS.list_default_days,
            max_results=SETTINGS.list_max_results,
        )
        drains = await find_requests(
            session,
            site=site,
            wanted=RequestFilter(service_code="blocked_drain"),
            now=NOW + timedelta(days=1),
            default_days=1,
            max_results=10,
        )
        figures = await satisfaction(session, site.grids, NOW, NOW + timedelta(days=1))
        board = await notice_board(session, site=site, grid_id="sun-1")
    assert len(open_ones) == 3 and [r.service_code for r in drains] == ["blocked_drain"]
    grid = figures["sun-1"]
    assert (grid.reports, grid.resolved, grid.rejected, grid.ratings) == (3, 0, 1, 1)
    assert grid.mean_rating == 2.0
    street = combined(figures.values())
    assert (street.reports, street.ratings, street.rejected) == (3, 1, 1)
    assert figures["steel-1"].reports == 0
    assert len(board.open_problems) == 2
