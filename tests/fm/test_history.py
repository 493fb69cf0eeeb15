"""``fm demo --history-days``: consistent, finished history, written once, on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from alerts.escalation.sla import DEFAULT_POLICIES
from core.settings import BUNDLED_SITE, Settings
from fm.crews import load_crew_plan
from fm.history import (
    SEEDED_DETAIL,
    HistorySource,
    SeedReport,
    load_history_plan,
    seed_history,
)
from fm.runner import Stores, open_stores
from fm.simulation import simulated_fleet
from governance.loader import load_site
from governance.model import Site
from sensors.catalogue import Severity
from sensors.street_life import BUNDLED_LIFE, load_street_life
from storage.relational.lifecycle_models import OrderTransition
from storage.relational.models import Episode, OrderStatus, WorkOrder

NOW = datetime(2026, 1, 20, 6, 0, tzinfo=UTC)  # winter: frost, long nights
DAYS = 3


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(BUNDLED_SITE)


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[Stores]:
    async with open_stores(Settings(data_dir=tmp_path / "var"), migrate=True) as opened:
        yield opened


def source(site: Site) -> HistorySource:
    return HistorySource(
        fleet=simulated_fleet(site),
        life=load_street_life(BUNDLED_LIFE),
        crews=load_crew_plan(BUNDLED_LIFE),
        plan=load_history_plan(BUNDLED_LIFE),
        seed=1,
        utc_offset_h=8.0,
    )


async def seed(stores: Stores, site: Site, days: float = DAYS) -> SeedReport | None:
    return await seed_history(
        sessions=stores.sessions,
        timeseries=stores.timeseries,
        site=site,
        source=source(site),
        days=days,
        now=NOW,
    )


async def test_seeded_orders_are_closed_and_their_times_in_order(
    stores: Stores, site: Site
) -> None:
    report = await seed(stores, site)
    assert report is not None
    async with stores.sessions() as session:
        orders = list(await session.scalars(select(WorkOrder)))
        episodes = list(await session.scalars(select(Episode)))
        transitions = list(await session.scalars(select(OrderTransition)))
    assert orders, "a few faults an hour make dozens of orders in three days"
    assert len(episodes) == len(orders)
    start = NOW - timedelta(days=DAYS)
    for order in orders:
        assert order.status is OrderStatus.CLOSED
        assert order.open_key is None
        assert order.acknowledged_at is not None and order.started_at is not None
        assert order.resolved_at is not None and order.closed_at is not None
        assert start <= order.created_at <= order.acknowledged_at <= order.started_at
        assert order.started_at <= order.resolved_at <= order.closed_at <= NOW
        assert order.recovered_at is not None and order.recovered_at <= NOW
        route = site.route(order.device_id or "")
        assert (order.team_id, order.grid_id) == (route.team.id, route.grid.id)
    for episode in episodes:
        assert episode.detail == SEEDED_DETAIL
        assert episode.ended_at is not None
        assert episode.started_at < episode.ended_at <= NOW
        assert episode.open_key is None and episode.work_order_id is not None
    by_order: dict[int, list[OrderTransition]] = {}
    for row in sorted(transitions, key=lambda t: t.at):
        by_order.setdefault(row.order_id, []).append(row)
    for order in orders:
        steps = by_order[order.id]
        assert [t.action for t in steps] == ["ack", "start", "resolve", "close"]
        versions = [t.version for t in steps]
        assert versions == sorted(versions) and versions[-1] == order.version
        assert steps[0].at == order.acknowledged_at and steps[-1].at == order.closed_at


async def test_some_orders_miss_their_sla_and_escalate(stores: Stores, site: Site) -> None:
    await seed(stores, site)
    async with stores.sessions() as session:
        orders = list(await session.scalars(select(WorkOrder)))
    late = [
        order
        for order in orders
        if order.acknowledged_at is not None
        and (order.acknowledged_at - order.created_at).total_seconds()
        > DEFAULT_POLICIES[Severity(order.severity)].ack_s
    ]
    assert late, "some acknowledgements must be late"
    assert len(late) < len(orders) / 2, "most are on time"
    assert all(order.tier != "grid" and order.escalated_at is not None for order in late)
    on_time = [order for order in orders if order.escalated_at is None]
    assert on_time and all(order.tier == "grid" for order in on_time)


async def test_a_second_start_seeds_nothing(stores: Stores, site: Site) -> None:
    assert await seed(stores, site) is not None
    async with stores.sessions() as session:
        before = await session.scalar(select(func.count()).select_from(WorkOrder))
    assert await seed(stores, site) is None
    assert await seed(stores, site, days=DAYS * 2) is None
    async with stores.sessions() as session:
        after = await session.scalar(select(func.count()).select_from(WorkOrder))
    assert after == before


async def test_telemetry_is_written_with_the_faults_overlaid(stores: Stores, site: Site) -> None:
    report = await seed(stores, site)
    assert report is not None
    plan = load_history_plan(BUNDLED_LIFE)
    readings_per_device = DAYS * 86_400 / plan.telemetry_every_s
    # Fewer than every device's every reading, since offline episodes send nothing.
    assert 0.9 * readings_per_device * len(site.devices) * 4 < report.points
    async with stores.sessions() as session:
        frozen = list(await session.scalars(select(Episode).where(Episode.code == "freeze_risk")))
    assert frozen, "winter nights freeze pipes"
    longest = max(frozen, key=lambda e: (e.ended_at or NOW) - e.started_at)
    spells = [(e.started_at, e.ended_at or NOW) for e in frozen if e.device_id == longest.device_id]
    samples = await stores.timeseries.read(
        device_id=longest.device_id,
        metric="temp_c",
        start=NOW - timedelta(days=DAYS),
        end=NOW,
    )
    during = [s.value for s in samples if any(a <= s.ts < b for a, b in spells)]
    outside = [s.value for s in samples if not any(a <= s.ts < b for a, b in spells)]
    assert during and outside
    assert all(value < 2 for value in during)  # below the gateway's freeze_risk threshold
    assert all(value >= 2 for value in outside)


async def test_zero_days_seeds_nothing(stores: Stores, site: Site) -> None:
    assert await seed(stores, site, days=0) is None


@pytest.mark.integration
async def test_seeding_works_on_postgresql(postgres_url: str, tmp_path: Path, site: Site) -> None:
    settings = Settings(data_dir=tmp_path / "var", database_url=postgres_url)
    async with open_stores(settings, migrate=True) as opened:
        report = await seed(opened, site, days=1)
        assert report is not None
        async with opened.sessions() as session:
            closed = await session.scalar(
                select(func.count()).select_from(WorkOrder).where(WorkOrder.status == "closed")
            )
            steps = await session.scalar(select(func.count()).select_from(OrderTransition))
        assert closed == report.episodes > 0
        assert steps == report.transitions
        assert await seed(opened, site, days=1) is None
