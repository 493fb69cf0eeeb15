"""A robot that behaves like DingTalk's, a storm site, and a driver for test-clock time."""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.orders.raising import handle_event
from core.clock import ManualClock
from core.events import DeviceEvent, EventSource
from governance.model import Building, Device, Location, Site
from sensors.catalogue import Severity
from tests.alerts.conftest import T0, build_site
from tests.alerts.outbox_helpers import DEADLINE_S, POLL_S, outbox
from tests.alerts.receiver import ROBOT_OK, Received

#: DingTalk's documented pace for one group robot, and how long it refuses after that.
ROBOT_PER_MINUTE = 20
ROBOT_MINUTE = timedelta(seconds=60)
ROBOT_PENALTY = timedelta(minutes=10)
TOO_FAST = b'{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}'

_ORDER_REF = re.compile(r"#(\d+)\*\*")


@dataclass
class Arrival:
    """One request as the robot saw it: when (test clock), what, and whether it took it."""

    at: datetime
    request: Received
    accepted: bool

    @property
    def text(self) -> str:
        return str(self.request.json()["markdown"]["text"])

    @property
    def order_ids(self) -> set[int]:
        return {int(ref) for ref in _ORDER_REF.findall(self.text)}


@dataclass
class DingTalkRobot:
    """Answers like a DingTalk group robot: 20 a minute, then 130101 for ten minutes."""

    clock: ManualClock
    arrivals: list[Arrival] = field(default_factory=list)
    blocked_until: datetime | None = None

    def __call__(self, request: Received) -> tuple[int, bytes]:
        now = self.clock()
        recent = [a for a in self.arrivals if a.accepted and a.at > now - ROBOT_MINUTE]
        blocked = self.blocked_until is not None and now < self.blocked_until
        accepted = not blocked and len(recent) < ROBOT_PER_MINUTE
        if not accepted and not blocked:
            self.blocked_until = now + ROBOT_PENALTY
        self.arrivals.append(Arrival(now, request, accepted))
        return (200, ROBOT_OK) if accepted else (200, TOO_FAST)

    def busiest_minute(self) -> int:
        """The most requests that reached the robot within any 60 s of test time."""
        times = sorted(a.at for a in self.arrivals)
        return max((sum(1 for t in times if s <= t < s + ROBOT_MINUTE) for s in times), default=0)

    def accepted(self) -> list[Arrival]:
        return [a for a in self.arrivals if a.accepted]


def storm_site(devices: int, *, per_building: int) -> Site:
    """The test site plus ``devices`` corridor lights in grid g1, in addressed buildings."""
    site = build_site()
    buildings = dict(site.buildings)
    lights = dict(site.devices)
    for n in range(devices):
        building_id = f"b-storm-{n // per_building}"
        if building_id not in buildings:
            address = Location(text=f"No. {n // per_building + 1} Shuncheng Road")
            buildings[building_id] = Building(
                building_id, f"Block {n // per_building + 1}", grid_id="g1", location=address
            )
        device_id = f"light-{n:03d}"
        lights[device_id] = Device(device_id, "corridor_light", building_id=building_id)
    return replace(site, buildings=buildings, devices=lights)


async def raise_lamp_failures(
    sessions: async_sessionmaker[AsyncSession], site: Site, device_ids: list[str], now: datetime
) -> None:
    """One committed transaction raising ``lamp_failure`` on each device."""
    async with sessions.begin() as session:
        for device_id in device_ids:
            event = DeviceEvent(
                device_id, "lamp_failure", True, Severity.MINOR, T0, EventSource.RULE
            )
            await handle_event(session, site=site, event=event, now=now)


async def quiet(sessions: async_sessionmaker[AsyncSession], clock: ManualClock) -> datetime | None:
    """Wait until no row is due or leased at the test time; when the next pending row is due."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        pending = [row for row in await outbox(sessions) if row.state == "pending"]
        now = clock()
        busy = [r for r in pending if r.next_attempt_at <= now or r.claimed_until is not None]
        if not busy:
            return min((row.next_attempt_at for row in pending), default=None)
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(busy)} rows still due or leased after {DEADLINE_S}s")
        await asyncio.sleep(POLL_S)


async def advance_to(
    sessions: async_sessionmaker[AsyncSession], clock: ManualClock, target: datetime
) -> None:
    """Move test time to ``target``, stopping wherever a held-back row falls due on the way."""
    while True:
        due = await quiet(sessions, clock)
        if due is None or due > target:
            clock.advance((target - clock()).total_seconds())
            return
        clock.advance(max((due - clock()).total_seconds(), 0.0))


async def drain(sessions: async_sessionmaker[AsyncSession], clock: ManualClock) -> None:
    """Move test time until no row is pending."""
    while (due := await quiet(sessions, clock)) is not None:
        clock.advance(max((due - clock()).total_seconds(), 0.0))


def payload_order_ids(payloads: list[str]) -> set[int]:
    """The order ids of outbox payloads."""
    return {int(json.loads(payload)["order_id"]) for payload in payloads}
