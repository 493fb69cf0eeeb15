"""Simulated crews for ``fm demo``: they work the orders street life causes, through the lifecycle.

Each order's fate is drawn once from the crews plan of the street-life file, seeded by the order
id: acknowledged within its SLA or late, resolved within it or late, closed by the grid leader a
while after. The crews act through :func:`alerts.orders.lifecycle.transition`, the function the
API's commands use, one transaction per order, on behalf of the order's assignee; fixing a fault
recovers the simulated device. Orders a person caused (``mosquitto_pub``, the injection endpoint)
are left to people: the crews take only faults street life started.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.background import BackgroundLoops, LoopOwner, every
from alerts.errors import AlertsError
from alerts.escalation.sla import SlaTimes, load_policies
from alerts.orders.lifecycle import Action, transition
from core.clock import Clock, utcnow
from governance.model import Site
from sensors.faults import ScenarioError
from storage.relational.models import OrderScope, OrderStatus, WorkOrder

log = logging.getLogger(__name__)

#: The principal the simulated crews act as (the member is ``on_behalf_of``).
CREW_ACTOR = "crew-simulator"
RESOLVE_NOTE = "fixed on site (simulated crew)"
CLOSE_NOTE = "checked by the grid leader: fault gone (simulated crew)"

Span = tuple[float, float]


@dataclass(frozen=True, slots=True)
class CrewPlan:
    """How the simulated crews behave (the ``crews`` section of the street-life file)."""

    check_interval_s: float
    ack_on_time: float  # share of orders acknowledged before the ack deadline
    resolve_on_time: float  # share resolved before the resolve deadline
    on_time_share: Span  # share of the deadline an on-time crew uses
    late_share: Span  # multiple of the deadline a late crew takes
    close_after_s: Span  # from resolving to closing


@dataclass(frozen=True, slots=True)
class Fate:
    """When the crews will act on one order, in seconds."""

    ack_after_s: float  # after the order opened
    resolve_after_s: float  # after the order opened, never before the acknowledgement
    close_after_s: float  # after the resolution


def fate_of(plan: CrewPlan, times: SlaTimes, *, seed: int, key: str) -> Fate:
    """The fate of the order ``key`` (its id): the same every time it is asked."""
    rng = random.Random(f"crew/{seed}/{key}")

    def within(deadline_s: float, on_time: float) -> float:
        low, high = plan.on_time_share if rng.random() < on_time else plan.late_share
        return deadline_s * rng.uniform(low, high)

    ack = within(times.ack_s, plan.ack_on_time)
    resolve = max(ack, within(times.resolve_s, plan.resolve_on_time))
    return Fate(ack, resolve, rng.uniform(*plan.close_after_s))


def _span(raw: object, key: str, source: str) -> Span:
    if (
        not isinstance(raw, list)
        or len(raw) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in raw)
        or not all(math.isfinite(v) and v >= 0 for v in raw)
        or raw[0] > raw[1]
    ):
        raise ScenarioError(source, f"crews.{key} must be [low, high] with 0 ≤ low ≤ high")
    return float(raw[0]), float(raw[1])


def _share(raw: Mapping[str, object], key: str, source: str) -> float:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ScenarioError(source, f"crews.{key} must be a share between 0 and 1")
    return float(value)


def parse_crew_plan(document: object, *, source: str) -> CrewPlan:
    """The ``crews`` section of a parsed street-life file."""
    raw = document.get("crews") if isinstance(document, Mapping) else None
    if not isinstance(raw, Mapping):
        raise ScenarioError(source, "'crews' must be a mapping")
    interval = raw.get("check_interval_s")
    if isinstance(interval, bool) or not isinstance(interval, int | float) or not interval > 0:
        raise ScenarioError(source, "crews.check_interval_s must be a positive number")
    return CrewPlan(
        check_interval_s=float(interval),
        ack_on_time=_share(raw, "ack_on_time", source),
        resolve_on_time=_share(raw, "resolve_on_time", source),
        on_time_share=_span(raw.get("on_time_share"), "on_time_share", source),
        late_share=_span(raw.get("late_share"), "late_share", source),
        close_after_s=_span(raw.get("close_after_s"), "close_after_s", source),
    )


def load_crew_plan(path: Path) -> CrewPlan:
    """The crews plan of a street-life file."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(str(path), f"cannot read: {exc}") from exc
    return parse_crew_plan(document, source=str(path))


class CrewFleet(Protocol):
    """What the crews need of the simulated fleet."""

    @property
    def life_faults(self) -> frozenset[tuple[str, str]]:
        """(device, code) of the faults street life started and nobody ended yet."""
        ...

    def recover(self, device_id: str, code: str | None = None) -> None:
        """The crew fixed it: the device behaves again."""
        ...


@dataclass(slots=True)
class CrewStats:
    """Counters since the crews started."""

    rounds: int = 0
    actions: dict[str, int] = field(default_factory=dict)  # per lifecycle action
    refused: int = 0  # a person acted first (409) or the order vanished
    failed: int = 0  # rounds that raised; logged


class SimulatedCrews(LoopOwner):
    """``async with SimulatedCrews(...)``: one named loop working street life's orders."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        site: Site,
        fleet: CrewFleet,
        plan: CrewPlan,
        seed: int,
        clock: Clock = utcnow,
    ) -> None:
        self.stats = CrewStats()
        self._sessions = sessions
        self._site = site
        self._fleet = fleet
        self._plan = plan
        self._seed = seed
        self._clock = clock
        self._taken: set[int] = set()  # orders the crews took on: followed through to closing
        self._loops = BackgroundLoops("SimulatedCrews")

    async def work_once(self) -> int:
        """One round now: each taken order moves at most one step; the number of steps."""
        now = self._clock()
        life = self._fleet.life_faults
        async with self._sessions() as session:
            policies = await load_policies(session)
            rows = await session.scalars(
                select(WorkOrder).where(
                    WorkOrder.scope == OrderScope.DEVICE,
                    WorkOrder.status.not_in([OrderStatus.CLOSED, OrderStatus.CANCELLED]),
                    WorkOrder.silenced.is_(False),
                )
            )
            orders = list(rows.all())
        self._taken &= {order.id for order in orders}
        steps = 0
        for order in orders:
            if order.id not in self._taken and (order.device_id, order.fault_code) in life:
                self._taken.add(order.id)
            times = policies.get(order.severity)
            if order.id in self._taken and times is not None:
                steps += await self._step(order, times, now)
        self.stats.rounds += 1
        return steps

    async def _step(self, order: WorkOrder, times: SlaTimes, now: datetime) -> int:
        fate = fate_of(self._plan, times, seed=self._seed, key=str(order.id))
        status = OrderStatus(order.status)
        actions: list[tuple[Action, str]] = []
        if status is OrderStatus.OPEN and now >= order.created_at + _s(fate.ack_after_s):
            actions = [(Action.ACK, "")]
        elif status in (OrderStatus.ACKNOWLEDGED, OrderStatus.IN_PROGRESS) and (
            now >= order.created_at + _s(fate.resolve_after_s)
        ):
            start = [(Action.START, "")] if status is OrderStatus.ACKNOWLEDGED else []
            actions = [*start, (Action.RESOLVE, RESOLVE_NOTE)]
        elif (
            status is OrderStatus.RESOLVED
            and order.resolved_at is not None
            and now >= order.resolved_at + _s(fate.close_after_s)
        ):
            actions = [(Action.CLOSE, CLOSE_NOTE)]
        if not actions:
            return 0
        try:
            async with self._sessions.begin() as session:
                version = order.version
                for action, note in actions:
                    changed = await transition(
                        session,
                        site=self._site,
                        order_id=order.id,
                        action=action,
                        version=version,
                        actor=CREW_ACTOR,
                        now=now,
                        note=note,
                        on_behalf_of=order.assignee,
                    )
                    version = changed.version
        except AlertsError as exc:  # a person acted first: theirs stands
            self.stats.refused += 1
            log.info("simulated crew: order %s: %s", order.id, exc)
            return 0
        for action, _ in actions:
            self.stats.actions[action.value] = self.stats.actions.get(action.value, 0) + 1
        if actions[-1][0] is Action.RESOLVE and order.device_id is not None:
            self._fleet.recover(order.device_id, order.fault_code)
        log.info("simulated crew: order %s %s", order.id, "+".join(a.value for a, _ in actions))
        return len(actions)

    async def __aenter__(self) -> SimulatedCrews:
        rounds = every(
            self._plan.check_interval_s, self.work_once, stats=self.stats, what="simulated crews"
        )
        self._loops.start({"demo-crews": rounds})
        return self


def _s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)
