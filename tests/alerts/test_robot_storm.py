"""A storm against a robot that behaves like DingTalk's: paced, folded, nothing dead-lettered.

Time is a test clock shared by the relay (wall and monotonic) and the robot; the driver moves
it only once nothing is due or in flight, so no test waits real minutes.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.notifications.relay import Relay
from core.clock import ManualClock, utcnow
from governance.model import Site
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

STORM_ORDERS = 200
BURST = 5  # orders per committed transaction
BURST_EVERY_S = 3.0  # 100 orders a test minute: five times what the robot takes


@pytest.fixture
def storm() -> Site:
    return storm_site(STORM_ORDERS, per_building=20)


@pytest.mark.integration
async def test_a_storm_reaches_the_robot_paced_folded_and_complete(
    sessions: async_sessionmaker[AsyncSession],
    storm: Site,
    database_url: str,
    mosquitto: MosquittoServer,
) -> None:
    clock = ManualClock(utcnow())
    robot = DingTalkRobot(clock)
    settings = make_settings(database_url, mqtt_url=mosquitto.url)
    devices = [d for d in storm.devices if d.startswith("light-")]
    async with HttpReceiver(respond=robot) as receiver:
        await add_endpoint(
            sessions, kind="dingtalk", url=receiver.url("/robot/send?access_token=t")
        )
        async with Relay(
            sessions=sessions,
            settings=settings,
            site=storm,
            clock=clock,
            monotonic=lambda: clock().timestamp(),
        ) as relay:
            for start in range(0, STORM_ORDERS, BURST):
                await raise_lamp_failures(sessions, storm, devices[start : start + BURST], clock())
                await advance_to(sessions, clock, clock() + timedelta(seconds=BURST_EVERY_S))
            await drain(sessions, clock)
    rows = [row for row in await outbox(sessions) if row.channel != "sse"]
    robot_rows = [row for row in rows if row.channel == "dingtalk"]
    assert len(robot_rows) == STORM_ORDERS
    # Nothing is dead-lettered; every row, MQTT and robot, was delivered.
    assert {row.state for row in rows} == {"delivered"}
    assert relay.stats.dead == 0 and relay.stats.delivered == len(rows)
    # The robot never saw more than its pace, and so never refused anything.
    assert robot.busiest_minute() == ROBOT_PER_MINUTE
    assert [a for a in robot.arrivals if not a.accepted] == []
    assert relay.stats.robot_backoffs == 0
    # Every order of the storm is named in a message the robot accepted.
    named = set().union(*(arrival.order_ids for arrival in robot.accepted()))
    assert named == payload_order_ids([row.payload for row in robot_rows])
    # Fewer messages than orders: the backlog went out as digests, counted as such.
    digests = [
        a for a in robot.arrivals if a.request.headers["idempotency-key"].startswith("digest:")
    ]
    singles = len(robot.arrivals) - len(digests)
    assert len(digests) == relay.stats.digests_sent > 0
    assert relay.stats.folded == sum(len(a.order_ids) for a in digests)
    assert relay.stats.folded + singles == STORM_ORDERS
    assert relay.stats.rate_limited > 0
    # A digest names where: the building and its address from the site file.
    assert "Block 1 · No. 1 Shuncheng Road" in "".join(a.text for a in digests)
