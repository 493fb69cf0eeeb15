"""Rule and liveness state across a restart: checkpoints in a real (SQLite) gateway_state table."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import ManualClock
from core.events import DeviceEvent
from gateway.decode import Reading
from gateway.liveness import Liveness
from gateway.rules import RuleEngine
from gateway.state import Checkpointer, MemoryStateStore, SqlStateStore
from sensors.catalogue import OFFLINE
from sensors.profiles import PROFILES
from storage.relational.detection_models import GatewayState
from storage.relational.models import Episode
from tests.gateway.sites import LIGHT, PIPE, SHED, small_site

START = datetime(2025, 6, 1, 20, 0, tzinfo=UTC)
LAMP_DARK = {"lamp_on": True, "current_a": 0.0, "voltage_v": 221.0}
LOW_PRESSURE = {"pressure_kpa": 120.0, "flow_lpm": 10.0}
HOT_SHED = {"temp_c": 70.0}
SHED_PARAMS = PROFILES["charging_shed"].params
SHED_SILENCE_LIMIT_S = SHED_PARAMS["heartbeat_s"] * SHED_PARAMS["offline_after_heartbeats"]


class Process:
    """One gateway process's detection state (rules, liveness) with a checkpointer."""

    def __init__(self, store: SqlStateStore | MemoryStateStore, clock: ManualClock) -> None:
        site = small_site()
        self.clock = clock
        self.rules = RuleEngine(site)
        self.liveness = Liveness(site=site, clock=clock)
        self.checkpointer = Checkpointer(
            rules=self.rules,
            liveness=self.liveness,
            store=store,
            devices=site.devices,
            clock=clock,
        )
        self.seq = Process.seq  # devices keep counting across the gateway's restart

    seq = 0

    def read(self, device_id: str, ts: float, metrics: dict[str, float | bool]) -> list[str]:
        self.seq = Process.seq = Process.seq + 1
        self.liveness.seen(device_id, self.clock().timestamp())
        events = self.rules.on_reading(Reading(device_id, ts, self.seq, metrics))
        assert events is not None
        return [_describe(e) for e in events]


def _describe(event: DeviceEvent) -> str:
    return f"{event.device_id}:{event.code}:{'raised' if event.active else 'cleared'}"


async def test_pending_conditions_complete_and_raised_faults_stay_quiet_after_a_restart(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(START)
    t0 = START.timestamp()
    before = Process(SqlStateStore(sessions), clock)
    assert before.read(LIGHT, t0, LAMP_DARK) == []  # lamp_failure: 1 of 2 readings
    assert before.read(PIPE, t0, LOW_PRESSURE) == []  # low_pressure: 60 s timer starts
    assert before.read(SHED, t0, HOT_SHED) == [f"{SHED}:overheat:raised"]
    assert before.liveness.status(LIGHT, online=False, ts=t0) is not None  # last will
    assert await before.checkpointer.checkpoint() == 3

    clock.advance(30)  # the gateway is down for 30 s
    after = Process(SqlStateStore(sessions), clock)
    assert await after.checkpointer.restore() == 3
    t1 = clock().timestamp()
    assert after.read(SHED, t1, HOT_SHED) == []  # still raised: no re-raise storm
    assert after.read(PIPE, t0 + 45, LOW_PRESSURE) == []  # 45 s of 60
    assert after.read(PIPE, t0 + 60, LOW_PRESSURE) == [f"{PIPE}:low_pressure:raised"]
    assert after.liveness.is_offline(LIGHT)  # offline before, offline after, no new event
    assert after.liveness.sweep() == []
    light = after.read(LIGHT, t1, LAMP_DARK)  # the second dark reading completes the pair
    assert light == [f"{LIGHT}:lamp_failure:raised"]
    assert after.read(SHED, t1 + 1, {"temp_c": 45.0}) == [f"{SHED}:overheat:cleared"]


async def test_a_device_that_dies_while_the_gateway_is_down_is_still_marked_offline(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(START)
    before = Process(SqlStateStore(sessions), clock)
    before.read(SHED, START.timestamp(), {"temp_c": 20.0})
    await before.checkpointer.checkpoint()

    clock.advance(600)  # down for ten minutes; the shed died meanwhile and never speaks again
    after = Process(SqlStateStore(sessions), clock)
    await after.checkpointer.restore()
    assert after.liveness.sweep() == []  # the gateway was away: silence clocks restart now
    clock.advance(SHED_SILENCE_LIMIT_S)
    (event,) = after.liveness.sweep()
    assert (event.device_id, event.code, event.active) == (SHED, OFFLINE, True)


async def test_checkpoints_write_only_what_changed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = ManualClock(START)
    process = Process(SqlStateStore(sessions), clock)
    t0 = START.timestamp()
    process.read(LIGHT, t0, LAMP_DARK)
    process.read(PIPE, t0, LOW_PRESSURE)
    assert await process.checkpointer.checkpoint() == 2
    assert await process.checkpointer.checkpoint() == 0
    process.read(PIPE, t0 + 1, LOW_PRESSURE)
    assert await process.checkpointer.checkpoint() == 1
    async with sessions() as session:
        rows = await session.scalar(select(func.count()).select_from(GatewayState))
    assert rows == 2


async def test_the_memory_store_round_trips_the_same_state() -> None:
    store, clock = MemoryStateStore(), ManualClock(START)
    process = Process(store, clock)
    process.read(SHED, START.timestamp(), HOT_SHED)
    await process.checkpointer.checkpoint()
    restored = Process(store, clock)
    await restored.checkpointer.restore()
    assert restored.rules.snapshot() == process.rules.snapshot()
    assert restored.checkpointer.device_states() == process.checkpointer.device_states()


async def test_a_fault_committed_after_the_last_checkpoint_is_cleared_after_a_restart(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The checkpoint lags what alerts committed: the open episode, not the checkpoint, says
    the fault is raised, so the first healthy reading after the restart clears it."""
    clock = ManualClock(START)
    t0 = START.timestamp()
    store = MemoryStateStore()
    store.open = {LIGHT: {"short_circuit"}}  # committed, but no checkpoint was saved since
    restarted = Process(store, clock)
    await restarted.checkpointer.restore()

    healthy = {"lamp_on": True, "current_a": 0.4, "voltage_v": 221.0}
    assert restarted.read(LIGHT, t0 + 1, healthy) == [f"{LIGHT}:short_circuit:cleared"]
    assert restarted.read(LIGHT, t0 + 2, healthy) == []


async def test_open_faults_come_from_open_rule_and_device_episodes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions.begin() as session:
        for code, source, ended in (
            ("short_circuit", "rule", None),
            ("lamp_failure", "rule", START),
            (OFFLINE, "liveness", None),
        ):
            session.add(
                Episode(
                    device_id=LIGHT,
                    code=code,
                    severity="major",
                    source=source,
                    detail="",
                    started_at=START,
                    ended_at=ended,
                    open_key=None if ended else f"{LIGHT}:{code}",
                )
            )

    assert await SqlStateStore(sessions).open_faults() == {LIGHT: {"short_circuit"}}
