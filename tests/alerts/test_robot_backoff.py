"""A robot's "too fast" answer backs off that endpoint only, across restarts, never dead-letters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.notifications.relay import Relay
from core.clock import ManualClock, utcnow
from governance.model import Site
from storage.relational.outbox_models import OutboxMessage
from tests.alerts.outbox_helpers import add_endpoint, make_settings, outbox
from tests.alerts.receiver import HttpReceiver
from tests.alerts.robot_support import (
    ROBOT_PENALTY,
    DingTalkRobot,
    advance_to,
    drain,
    quiet,
    raise_lamp_failures,
    storm_site,
)
from tests.servers.mosquitto import MosquittoServer

ORDERS = 3
THROTTLE_BACKOFF_S = ROBOT_PENALTY.total_seconds()


def _rows_of(rows: list[OutboxMessage], endpoint_id: int) -> list[OutboxMessage]:
    return [row for row in rows if row.endpoint_id == endpoint_id]


@pytest.mark.integration
async def test_too_fast_pauses_that_robot_only_and_survives_a_restart(
    sessions: async_sessionmaker[AsyncSession], database_url: str, mosquitto: MosquittoServer
) -> None:
    site: Site = storm_site(ORDERS, per_building=ORDERS)
    clock = ManualClock(utcnow())
    throttled = DingTalkRobot(
        clock, blocked_until=clock() + ROBOT_PENALTY
    )  # another sender's fault
    healthy = DingTalkRobot(clock)
    settings = make_settings(
        database_url, mqtt_url=mosquitto.url, robot_throttle_backoff_s=THROTTLE_BACKOFF_S
    )

    def relay() -> Relay:
        monotonic = lambda: clock().timestamp()  # noqa: E731
        return Relay(
            sessions=sessions, settings=settings, site=site, clock=clock, monotonic=monotonic
        )

    async with HttpReceiver(respond=throttled) as slow, HttpReceiver(respond=healthy) as fine:
        slow_id = await add_endpoint(sessions, kind="dingtalk", url=slow.url("/robot/send"))
        fine_id = await add_endpoint(sessions, kind="dingtalk", url=fine.url("/robot/send"))
        devices = [d for d in site.devices if d.startswith("light-")]
        async with relay() as first:
            await raise_lamp_failures(sessions, site, devices, clock())
            await quiet(sessions, clock)
        # The healthy robot got every order at once; the throttled one refused and waits.
        rows = await outbox(sessions)
        assert {row.state for row in _rows_of(rows, fine_id)} == {"delivered"}
        waiting = _rows_of(rows, slow_id)
        assert {row.state for row in waiting} == {"pending"}
        assert {row.attempts for row in waiting} == {0}  # a "too fast" is not a failed attempt
        assert all("130101" in (row.last_error or "") for row in waiting)
        refused = len(throttled.arrivals)
        assert refused >= 1 and throttled.accepted() == []
        assert first.stats.robot_backoffs == refused and first.stats.retried == 0
        resume_at = clock() + timedelta(seconds=THROTTLE_BACKOFF_S)
        assert all(row.next_attempt_at >= resume_at - timedelta(seconds=1) for row in waiting)

        # A restarted relay (fresh in-memory pacing) still leaves the robot alone until then.
        async with relay() as second:
            await advance_to(sessions, clock, resume_at - timedelta(seconds=1))
            assert len(throttled.arrivals) == refused
            await drain(sessions, clock)
        assert second.stats.dead == 0 and second.stats.robot_backoffs == 0
    rows = await outbox(sessions)
    assert {row.state for row in rows} == {"delivered"}
    assert {row.attempts for row in _rows_of(rows, slow_id)} == {1}
    named = set().union(*(arrival.order_ids for arrival in throttled.accepted()))
    assert named == {row.order_id for row in _rows_of(rows, slow_id)}
