"""``fm demo --history-days N``: days of plausible history written before the demo starts.

The street-life generator is stepped over the past days (coarse ticks, no clock), each fault gets
the fate the simulated crews would give it (``fm.crews.fate_of``: acknowledged and resolved within
the SLA or late, escalated a tier per missed deadline, closed by the grid leader), and the result
is written as finished history: episodes, closed work orders and their transitions in the
relational store (one transaction, no outbox rows: the past pages nobody), and hourly readings
with the faults overlaid in the time-series store. Only faults whose order was closed before
now are kept, so the live demo starts from a street where everything past is settled.

Seeding is idempotent: seeded episodes carry :data:`SEEDED_DETAIL`, and a store holding one is
left alone. The telemetry goes first and the relational transaction last, so a seeding cut short
is redone in full at the next start (point writes replace equal points).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.escalation.sla import SlaTimes, load_policies
from alerts.escalation.sweep import NEXT_TIER
from alerts.orders.lifecycle import Action
from alerts.orders.routing import route_fault
from core.events import EventSource
from fm.crews import CLOSE_NOTE, CREW_ACTOR, RESOLVE_NOTE, CrewPlan, fate_of
from governance.model import Site
from sensors.behaviour import SimulatedDevice, normal_reading
from sensors.catalogue import OFFLINE, Severity
from sensors.faults import CONNECTION_FAULTS, ScenarioError, faulty_reading
from sensors.profiles import PROFILES
from sensors.street_life import FaultGenerator, StreetLife
from storage.relational.lifecycle_models import OrderTransition
from storage.relational.models import Episode, OrderScope, OrderStatus, WorkOrder
from storage.tsdb.port import Point, TimeSeriesStore

log = logging.getLogger(__name__)

#: The detail of every seeded episode: what tells a second start that history is there.
SEEDED_DETAIL = "seeded history (fm demo --history-days)"
#: Points per write to the time-series store.
WRITE_BATCH = 50_000
#: A crew sets off this share of the way from acknowledging to resolving.
START_SHARE = 0.2
DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class HistoryPlan:
    """The ``history`` section of the street-life file."""

    tick_s: float  # step of the fault generator over the past
    telemetry_every_s: float  # one reading per device this often


def load_history_plan(path: Path) -> HistoryPlan:
    """The history section of a street-life file."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScenarioError(str(path), f"cannot read: {exc}") from exc
    raw = document.get("history") if isinstance(document, Mapping) else None
    if not isinstance(raw, Mapping):
        raise ScenarioError(str(path), "'history' must be a mapping")
    values = [raw.get("tick_s"), raw.get("telemetry_every_s")]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in values):
        raise ScenarioError(str(path), "history.tick_s and telemetry_every_s must be positive")
    return HistoryPlan(
        tick_s=float(raw["tick_s"]), telemetry_every_s=float(raw["telemetry_every_s"])
    )


@dataclass(frozen=True, slots=True)
class PastFault:
    """One fault of the past and what the crews did about it (epoch seconds)."""

    device_id: str
    code: str
    severity: Severity
    started: float
    ended: float  # the device behaved again
    acknowledged: float
    resolved: float
    closed: float
    times: SlaTimes

    def events(self) -> list[tuple[float, str]]:
        """Escalations (missed deadlines) and transitions, oldest first."""
        started = self.acknowledged + (self.resolved - self.acknowledged) * START_SHARE
        events = [
            (self.acknowledged, Action.ACK.value),
            (started, Action.START.value),
            (self.resolved, Action.RESOLVE.value),
            (self.closed, Action.CLOSE.value),
        ]
        ack_due = self.started + self.times.ack_s
        resolve_due = self.started + self.times.resolve_s
        if self.acknowledged > ack_due:
            events.append((ack_due, "escalate"))
        if self.resolved > resolve_due:
            events.append((resolve_due, "escalate"))
        return sorted(events)


@dataclass(frozen=True, slots=True)
class SeedReport:
    """What one seeding wrote and how long it took."""

    days: float
    episodes: int
    transitions: int
    points: int
    seconds: float


def plan_history(
    fleet: Sequence[SimulatedDevice],
    life: StreetLife,
    crews: CrewPlan,
    policies: Mapping[str, SlaTimes],
    *,
    start: float,
    end: float,
    tick_s: float,
    seed: int,
    utc_offset_h: float,
) -> list[PastFault]:
    """The faults of ``[start, end)`` whose orders were closed by ``end``, oldest first."""
    generator = FaultGenerator(fleet, life, seed=seed, utc_offset_h=utc_offset_h)
    types = {device.id: device.type for device in fleet}
    # One order per (device, code) at a time: a pair is busy until its order is closed.
    busy_until: dict[tuple[str, str], float] = {}
    past: list[PastFault] = []
    at = start
    while at < end:
        now = at

        def busy(device_id: str, code: str, now: float = now) -> bool:
            return busy_until.get((device_id, code), -math.inf) > now

        for onset in generator.step(at, tick_s, busy=busy):
            generator.forget(onset.device_id, onset.code)  # tracked by busy_until instead
            severity = PROFILES[types[onset.device_id]].severity_of(onset.code)
            times = policies.get(severity.value)
            if times is None:
                continue
            fate = fate_of(crews, times, seed=seed, key=f"history/{onset.device_id}/{onset.at}")
            resolved = onset.at + fate.resolve_after_s
            ended = onset.recover_at if onset.recover_at is not None else resolved
            closed = resolved + fate.close_after_s
            busy_until[(onset.device_id, onset.code)] = max(ended, closed)
            if max(ended, closed) < end:
                acknowledged = onset.at + fate.ack_after_s
                past.append(
                    PastFault(
                        onset.device_id, onset.code, severity, onset.at, ended,
                        acknowledged, resolved, closed, times,
                    )
                )  # fmt: skip
        at += tick_s
    return past


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _order_rows(
    site: Site, fault: PastFault
) -> tuple[dict[str, object], dict[str, object], list[dict[str, object]]]:
    """The order's INSERT values, its episode's (without the order id) and its transitions'."""
    routing = route_fault(site, device_id=fault.device_id, severity=fault.severity)
    tier, escalated_at = routing.tier.value, None
    status, version = OrderStatus.OPEN, 1
    transitions: list[dict[str, object]] = []
    targets = {
        Action.ACK.value: OrderStatus.ACKNOWLEDGED,
        Action.START.value: OrderStatus.IN_PROGRESS,
        Action.RESOLVE.value: OrderStatus.RESOLVED,
        Action.CLOSE.value: OrderStatus.CLOSED,
    }
    notes = {Action.RESOLVE.value: RESOLVE_NOTE, Action.CLOSE.value: CLOSE_NOTE}
    for at, what in fault.events():
        version += 1
        if what == "escalate":
            tier, escalated_at = NEXT_TIER.get(tier, tier), _utc(at)
            continue
        transitions.append(
            {
                "action": what,
                "from_status": status,
                "to_status": targets[what],
                "from_assignee": routing.assignee,
                "to_assignee": routing.assignee,
                "actor": CREW_ACTOR,
                "on_behalf_of": routing.assignee,
                "note": notes.get(what, ""),
                "version": version,
                "at": _utc(at),
            }
        )
        status = targets[what]
    order = {
        "scope": OrderScope.DEVICE,
        "device_id": fault.device_id,
        "fault_code": fault.code,
        "severity": fault.severity.value,
        "priority": routing.priority,
        "status": OrderStatus.CLOSED,
        "tier": tier,
        "building_id": routing.building_id,
        "grid_id": routing.grid_id,
        "community_id": routing.community_id,
        "team_id": routing.team_id,
        "assignee": routing.assignee,
        "detail": "",
        "open_key": None,
        "created_at": _utc(fault.started),
        "updated_at": _utc(fault.closed),
        "acknowledged_at": _utc(fault.acknowledged),
        "started_at": transitions[1]["at"],
        "resolved_at": _utc(fault.resolved),
        "closed_at": _utc(fault.closed),
        "recovered_at": _utc(fault.ended),
        "occurrences": 1,
        "reopen_count": 0,
        "escalated_at": escalated_at,
        "silenced": False,
        "version": version,
    }
    source = EventSource.LIVENESS if fault.code == OFFLINE else EventSource.RULE
    episode: dict[str, object] = {
        "device_id": fault.device_id,
        "code": fault.code,
        "severity": fault.severity.value,
        "source": source.value,
        "detail": SEEDED_DETAIL,
        "started_at": _utc(fault.started),
        "ended_at": _utc(fault.ended),
        "open_key": None,
    }
    return order, episode, transitions


def past_points(
    fleet: Sequence[SimulatedDevice],
    past: Sequence[PastFault],
    *,
    start: float,
    end: float,
    every_s: float,
    seed: int,
    utc_offset_h: float,
) -> Iterator[Point]:
    """Every device's readings every ``every_s`` in ``[start, end)``, the past faults overlaid."""
    faults: dict[str, list[PastFault]] = {}
    for fault in past:
        faults.setdefault(fault.device_id, []).append(fault)
    for index, device in enumerate(fleet):
        mine = faults.get(device.id, [])
        at = start + every_s * index / max(1, len(fleet))  # spread like the live fleet
        while at < end:
            active = [f.code for f in mine if f.started <= at < f.ended]
            if not any(code in CONNECTION_FAULTS for code in active):
                reading = normal_reading(device, at, seed=seed, utc_offset_h=utc_offset_h)
                if active:
                    reading = faulty_reading(device, reading, active)
                for metric, value in reading.items():
                    yield Point(device.id, metric, at, float(value))
            at += every_s


async def already_seeded(session: AsyncSession) -> bool:
    """True when the relational store holds seeded history."""
    found = await session.scalar(select(Episode.id).where(Episode.detail == SEEDED_DETAIL).limit(1))
    return found is not None


@dataclass(frozen=True, slots=True)
class HistorySource:
    """What seeding draws from: the fleet, the street life, the crews and the history plan."""

    fleet: Sequence[SimulatedDevice]
    life: StreetLife
    crews: CrewPlan
    plan: HistoryPlan
    seed: int
    utc_offset_h: float


async def seed_history(
    *,
    sessions: async_sessionmaker[AsyncSession],
    timeseries: TimeSeriesStore,
    site: Site,
    source: HistorySource,
    days: float,
    now: datetime,
) -> SeedReport | None:
    """Write ``days`` of history ending at ``now``; None when there is already some (or 0 days)."""
    if days <= 0:
        return None
    began = time.perf_counter()
    async with sessions() as session:
        if await already_seeded(session):
            log.info("history: already seeded, nothing written")
            return None
        policies = await load_policies(session)
    end = now.timestamp()
    start = end - days * DAY_S
    past = plan_history(
        source.fleet, source.life, source.crews, policies,
        start=start, end=end, tick_s=source.plan.tick_s,
        seed=source.seed, utc_offset_h=source.utc_offset_h,
    )  # fmt: skip
    points = 0
    batch: list[Point] = []
    for point in past_points(
        source.fleet, past,
        start=start, end=end, every_s=source.plan.telemetry_every_s,
        seed=source.seed, utc_offset_h=source.utc_offset_h,
    ):  # fmt: skip
        batch.append(point)
        if len(batch) >= WRITE_BATCH:
            await timeseries.write(batch)
            points, batch = points + len(batch), []
    if batch:
        await timeseries.write(batch)
        points += len(batch)
    transitions = await _write_orders(sessions, site, past)
    report = SeedReport(days, len(past), transitions, points, time.perf_counter() - began)
    log.info(
        "history: %g days seeded in %.1f s: %d episodes and closed orders, %d transitions, "
        "%d points",
        report.days, report.seconds, report.episodes, report.transitions, report.points,
    )  # fmt: skip
    return report


async def _write_orders(
    sessions: async_sessionmaker[AsyncSession], site: Site, past: Sequence[PastFault]
) -> int:
    """One transaction: the orders, then their episodes and transitions with the new ids."""
    if not past:
        return 0
    rows = [_order_rows(site, fault) for fault in past]
    async with sessions.begin() as session:
        ids = list(
            await session.scalars(
                insert(WorkOrder).returning(WorkOrder.id, sort_by_parameter_order=True),
                [order for order, _, _ in rows],
            )
        )
        await session.execute(
            insert(Episode),
            [
                {**episode, "work_order_id": oid}
                for oid, (_, episode, _) in zip(ids, rows, strict=True)
            ],
        )
        transitions = [
            {**t, "order_id": oid} for oid, (_, _, ts) in zip(ids, rows, strict=True) for t in ts
        ]
        await session.execute(insert(OrderTransition), transitions)
    return len(transitions)
