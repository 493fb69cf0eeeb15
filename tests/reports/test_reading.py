"""The bulk reads on both stores: epoch seconds computed by the database, order, filters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reports.buckets import BucketSize
from reports.order_history import order_times, read_orders
from reports.reading import read_episodes, read_maintenance
from reports.scope import Scope
from reports.service import uptime_report
from storage.relational.db import create_engine, session_factory
from storage.relational.migrate import upgrade_database
from storage.relational.models import Episode
from storage.relational.sla_models import Silence, SilenceScope
from tests.api.conftest import build_site, make_order

T0 = datetime(2025, 3, 1, 8, 0, 0, 250_000, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
async def sessions(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a migrated database of each supported kind."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'fm.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    await upgrade_database(url)
    engine = create_engine(url)
    yield session_factory(engine)
    await engine.dispose()


def _episode(device_id: str, code: str, start: datetime, end: datetime | None) -> Episode:
    return Episode(
        device_id=device_id,
        code=code,
        severity="minor",
        source="rule",
        started_at=start,
        ended_at=end,
        open_key=None if end else f"{device_id}:{code}",
    )


async def _seed(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        session.add_all(
            [
                _episode("pipe-1", "burst", T0 + HOUR, T0 + 2 * HOUR),
                _episode("light-1", "offline", T0 + 3 * HOUR, None),
                _episode("light-1", "lamp_failure", T0, T0 + HOUR),
                _episode("light-1", "lamp_failure", T0 - 9 * HOUR, T0 - 8 * HOUR),  # before
                Silence(
                    scope_kind=SilenceScope.GRID,
                    scope_id="sun-1",
                    starts_at=T0 + 0.5 * HOUR,
                    ends_at=T0 + HOUR,
                    reason="",
                    created_by="test",
                    created_at=T0,
                ),
                make_order(
                    created_at=T0,
                    acknowledged_at=T0 + 0.5 * HOUR,
                    resolved_at=T0 + 2 * HOUR,
                    status="resolved",
                ),
                make_order(device_id="pipe-1", fault_code="burst", created_at=T0 + HOUR),
            ]
        )


async def test_episodes_come_as_epoch_seconds_by_device_then_start(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(sessions)
    async with sessions() as session:
        rows = await read_episodes(session, start=T0, end=T0 + 24 * HOUR, device_ids=None)
        only_pipe = await read_episodes(
            session, start=T0, end=T0 + 24 * HOUR, device_ids=["pipe-1"]
        )
        silences = await read_maintenance(session, start=T0, end=T0 + 24 * HOUR)
    assert [r[0] for r in rows] == ["light-1", "light-1", "pipe-1"]
    # Sub-second parts survive (to the millisecond on SQLite); open episodes have no end.
    assert rows[0][1] == pytest.approx(T0.timestamp(), abs=1e-3)
    assert rows[1][1] == pytest.approx((T0 + 3 * HOUR).timestamp(), abs=1e-3)
    assert rows[1][2] is None
    assert [r[0] for r in only_pipe] == ["pipe-1"]
    assert [(s.kind, s.scope_id) for s in silences] == [("grid", "sun-1")]


async def test_uptime_and_order_times_on_the_store(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(sessions)
    site = build_site()
    async with sessions() as session:
        report = await uptime_report(
            session,
            site,
            scope=Scope.GRID,
            target_id="sun-1",
            start=T0,
            end=T0 + 6 * HOUR,
            now=T0 + 24 * HOUR,
            bucket=BucketSize.DAY,
        )
        times = await order_times(session, start=T0, as_of=T0 + 6 * HOUR)
        orders = await read_orders(session, start=T0, as_of=T0 + 6 * HOUR, reopen_window_s=60.0)
    # light-1: lamp 0:00-1:00 (0:30-1:00 under maintenance) + offline 3:00-6:00; pipe-1 1 h.
    assert report.totals.down_s == pytest.approx(0.5 * 3600 + 3 * 3600 + 3600, abs=1e-2)
    assert report.totals.maintenance_s == pytest.approx(2 * 0.5 * 3600, abs=1e-2)
    assert report.outages_total == 3
    assert [o.codes for o in report.outages] == [("offline",), ("burst",), ("lamp_failure",)]
    assert times.mtta_s == pytest.approx(1800, abs=1e-2)
    assert times.mttr_s == pytest.approx(7200, abs=1e-2)
    # The resolved order and the open one, read back as facts at the window's end.
    assert sorted(o.open_at_as_of for o in orders) == [False, True]
