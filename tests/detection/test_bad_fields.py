"""A bad field or an absurd seq never hides a smoke alarm: real Mosquitto → gateway → alerts →
work order on a migrated SQLite, and every bad field is counted by reason and metric."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.intake import EventIntake
from core.settings import Settings
from storage.relational.models import WorkOrder
from tests.detection.running import running_gateway, telemetry
from tests.gateway.sites import SHED, small_site
from tests.gateway.waiting import until
from tests.servers.mosquitto import MosquittoServer

pytestmark = pytest.mark.integration

SMOKE_ALARMS = [
    # (payload published as it is, the drop it must be counted under, or None)
    ('{"metrics": {"smoke": true, "temp_c": 35, "humidity": 40}}', ("unknown_metric", "(unknown)")),
    ('{"metrics": {"smoke": true, "temp_c": 1300}}', ("out_of_range", "temp_c")),
    ('{"metrics": {"smoke": true, "temp_c": NaN}}', ("non_finite", "temp_c")),
    ('{"metrics": {"smoke": true, "temp_c": null}}', ("null", "temp_c")),
    ('{"metrics": {"smoke": true, "temp_c": "hot"}}', ("wrong_type", "temp_c")),
    ('{"metrics": {"smoke": true, "temp_c": 250}}', None),  # a fire reading, not a bad field
]


async def open_orders(sessions: async_sessionmaker[AsyncSession]) -> dict[str, WorkOrder]:
    async with sessions() as session:
        orders = (await session.scalars(select(WorkOrder))).all()
    return {order.fault_code: order for order in orders}


@pytest.mark.parametrize(("payload", "drop"), SMOKE_ALARMS, ids=[p for p, _ in SMOKE_ALARMS])
async def test_a_smoke_alarm_next_to_a_bad_field_opens_its_order(
    mosquitto: MosquittoServer,
    sessions: async_sessionmaker[AsyncSession],
    payload: str,
    drop: tuple[str, str] | None,
) -> None:
    site = small_site()
    alerts = EventIntake(sessions=sessions, site=site, settings=Settings())
    async with alerts, running_gateway(mosquitto, site, sink=alerts) as (gateway, _):
        mosquitto.publish(f"fm/{SHED}/telemetry", payload)
        await until(lambda: alerts.stats.opened >= 1, "the smoke order")
        orders = await open_orders(sessions)
        assert orders["smoke"].device_id == SHED
        assert orders["smoke"].severity == "critical"
        stats = gateway.stats
        assert (stats.accepted, stats.rejected_total) == (1, 0)
        if drop is None:
            assert stats.dropped_metrics == {}
            await until(lambda: alerts.stats.opened == 2, "the overheat order")
            assert set(await open_orders(sessions)) == {"smoke", "overheat"}
        else:
            assert stats.dropped_metrics == {drop: 1}


async def test_an_absurd_seq_does_not_hide_the_next_smoke_alarm(
    mosquitto: MosquittoServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    site = small_site()
    alerts = EventIntake(sessions=sessions, site=site, settings=Settings())
    async with alerts, running_gateway(mosquitto, site, sink=alerts) as (gateway, _):
        telemetry(mosquitto, SHED, seq=7, metrics={"smoke": False, "temp_c": 25})
        telemetry(mosquitto, SHED, seq=10**30, metrics={"smoke": False, "temp_c": 25})
        telemetry(mosquitto, SHED, seq=8, metrics={"smoke": True, "temp_c": 26})
        await until(lambda: alerts.stats.opened == 1, "the smoke order")
        assert set(await open_orders(sessions)) == {"smoke"}
        assert (gateway.stats.stale, gateway.stats.seq_resets) == (0, 2)
