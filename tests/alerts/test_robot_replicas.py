"""Two relays on one PostgreSQL (two `fm alerts` replicas): only the one holding the robot lock
paces the robots, so together they still stay within the robot's limit; the other delivers
everything else, and takes the robots over when the first stops."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts.notifications.relay import Relay
from core.clock import ManualClock, utcnow
from storage.relational.db import create_engine, session_factory
from tests.alerts.conftest import create_schema
from tests.alerts.outbox_helpers import add_endpoint, make_settings, outbox
from tests.alerts.receiver import HttpReceiver
from tests.alerts.robot_support import (
    ROBOT_PER_MINUTE,
    DingTalkRobot,
    advance_to,
    drain,
    payload_order_ids,
    raise_lamp_failures,
    storm_site,
)
from tests.servers.mosquitto import MosquittoServer

pytestmark = pytest.mark.integration

ORDERS = 80
BURST = 5
BURST_EVERY_S = 3.0  # 100 orders a test minute against a robot that takes 20


async def test_two_relays_stay_within_one_robots_limit(
    postgres_url: str, mosquitto: MosquittoServer
) -> None:
    site = storm_site(ORDERS, per_building=20)
    devices = [d for d in site.devices if d.startswith("light-")]
    first_engine, second_engine = create_engine(postgres_url), create_engine(postgres_url)
    try:
        await create_schema(first_engine)
        sessions = session_factory(first_engine)
        clock = ManualClock(utcnow())
        robot = DingTalkRobot(clock)
        settings = make_settings(postgres_url, mqtt_url=mosquitto.url)

        def relay(engine_sessions: object) -> Relay:
            return Relay(
                sessions=engine_sessions,  # type: ignore[arg-type]
                settings=settings,
                site=site,
                clock=clock,
                monotonic=lambda: clock().timestamp(),
            )

        async with HttpReceiver(respond=robot) as receiver:
            await add_endpoint(sessions, kind="dingtalk", url=receiver.url("/robot/send?t=1"))
            first = relay(sessions)
            second = relay(session_factory(second_engine))
            async with second:
                async with first:
                    for start in range(0, ORDERS // 2, BURST):
                        await raise_lamp_failures(
                            sessions, site, devices[start : start + BURST], clock()
                        )
                        await advance_to(
                            sessions, clock, clock() + timedelta(seconds=BURST_EVERY_S)
                        )
                # The first relay stopped: its robot lock is free, the second takes the robots.
                for start in range(ORDERS // 2, ORDERS, BURST):
                    await raise_lamp_failures(
                        sessions, site, devices[start : start + BURST], clock()
                    )
                    await advance_to(sessions, clock, clock() + timedelta(seconds=BURST_EVERY_S))
                await drain(sessions, clock)

        robot_rows = [row for row in await outbox(sessions) if row.channel == "dingtalk"]
        assert len(robot_rows) == ORDERS and {row.state for row in robot_rows} == {"delivered"}
        # Two relays, one robot budget: never more than its pace, nothing refused.
        assert robot.busiest_minute() <= ROBOT_PER_MINUTE
        assert [a for a in robot.arrivals if not a.accepted] == []
        named = set().union(*(arrival.order_ids for arrival in robot.accepted()))
        assert named == payload_order_ids([row.payload for row in robot_rows])
        # Each relay paced the robot in its turn: both sent some of its messages.
        assert first.stats.rate_limited + first.stats.digests_sent > 0
        assert second.stats.rate_limited + second.stats.digests_sent > 0
        assert first.stats.dead == second.stats.dead == 0
    finally:
        await first_engine.dispose()
        await second_engine.dispose()
