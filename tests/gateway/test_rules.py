"""Fault rules over readings: every catalogue entry, debouncing, hysteresis, order, persistence."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.clock import ManualClock
from core.events import DeviceEvent, EventSource
from gateway.decode import DeviceReport, Reading
from gateway.errors import SiteConfigError
from gateway.rules import CompiledFault, RuleEngine
from sensors.contract import MetricValue
from sensors.profiles import PROFILES, FaultOverride, Overrides
from tests.gateway.sites import LIGHT, PIPE, SHED, small_site

T0 = datetime(2024, 1, 15, 8, 0, tzinfo=UTC).timestamp()
DEVICE_OF_TYPE = {"corridor_light": LIGHT, "pipe": PIPE, "charging_shed": SHED}
ALL_FAULTS = [(t, code) for t, profile in PROFILES.items() for code in profile.faults]


class Feeder:
    """Drives one device of an engine with readings at increasing times."""

    def __init__(self, engine: RuleEngine, device_id: str) -> None:
        self.engine, self.device_id = engine, device_id
        self.clock = ManualClock(datetime.fromtimestamp(T0, UTC))
        self.seq = 0

    def send(self, advance_s: float = 1.0, **metrics: MetricValue) -> list[DeviceEvent]:
        self.seq += 1
        ts = self.clock.advance(advance_s).timestamp()
        events = self.engine.on_reading(Reading(self.device_id, ts, self.seq, metrics))
        assert events is not None, "a fresh, in-order reading must not be stale"
        return list(events)


def satisfying(fault: CompiledFault, *, clear: bool = False) -> dict[str, MetricValue]:
    """A reading (only the metrics the fault needs) that matches its raise or clear condition."""
    metrics: dict[str, MetricValue] = {}
    if clear and not fault.clear_when:
        for check in fault.raise_when:  # violate every raise condition
            t = check.threshold
            metrics[check.metric] = (
                (not t) if isinstance(t, bool) else _violating(check.op_symbol, t)
            )
        return metrics
    for check in fault.clear_when if clear else fault.raise_when:
        t = check.threshold
        metrics[check.metric] = t if isinstance(t, bool) else _satisfying(check.op_symbol, t)
    return metrics


def _satisfying(op: str, threshold: float) -> float:
    return threshold + 1 if op in (">", ">=") else threshold - 1 if op in ("<", "<=") else threshold


def _violating(op: str, threshold: float) -> float:
    return threshold - 1 if op in (">", ">=") else threshold + 1


@pytest.mark.parametrize(("device_type", "code"), ALL_FAULTS)
def test_every_catalogue_fault_raises_and_clears(device_type: str, code: str) -> None:
    device_id = DEVICE_OF_TYPE[device_type]
    engine = RuleEngine(small_site())
    fault = next(f for f in engine.faults_of(device_id) if f.code == code)
    feed = Feeder(engine, device_id)
    step = fault.for_s if fault.for_s else 1.0
    needed = max(fault.readings, 2 if fault.for_s else 1)

    raised: list[DeviceEvent] = []
    for i in range(needed):
        events = [e for e in feed.send(step, **satisfying(fault)) if e.code == code]
        if i < needed - 1:
            assert events == [], f"{code} raised on reading {i + 1} of {needed}"
        raised = events
    assert [(e.active, e.severity, e.source) for e in raised] == [
        (True, PROFILES[device_type].faults[code].severity, EventSource.RULE)
    ]
    assert raised[0].ts == feed.clock()
    assert code in engine.active_faults(device_id)

    assert [e for e in feed.send(step, **satisfying(fault)) if e.code == code] == []  # no re-raise

    cleared = [e for e in feed.send(step, **satisfying(fault, clear=True)) if e.code == code]
    assert [(e.active, e.device_id) for e in cleared] == [(False, device_id)]
    assert code not in engine.active_faults(device_id)


def test_short_circuit_reading_raises_exactly_once() -> None:
    feed = Feeder(RuleEngine(small_site()), LIGHT)
    first = feed.send(lamp_on=True, current_a=12, voltage_v=220)
    assert [(e.code, e.active) for e in first] == [("short_circuit", True)]
    assert feed.send(lamp_on=True, current_a=12, voltage_v=220) == []


def test_one_bad_reading_then_a_good_one_raises_nothing() -> None:
    feed = Feeder(RuleEngine(small_site()), LIGHT)
    assert feed.send(lamp_on=True, current_a=0.0) == []
    assert feed.send(lamp_on=True, current_a=0.5) == []
    assert feed.send(lamp_on=True, current_a=0.0) == []  # the count started again
    assert [e.code for e in feed.send(lamp_on=True, current_a=0.0)] == ["lamp_failure"]


def test_a_reading_without_the_rules_metrics_leaves_its_count_alone() -> None:
    feed = Feeder(RuleEngine(small_site()), LIGHT)
    assert feed.send(voltage_v=100) == []
    assert feed.send(lux=40.0) == []  # no voltage: no_power neither counts nor resets
    assert [e.code for e in feed.send(voltage_v=100)] == ["no_power"]
    assert feed.send(lux=40.0) == []  # nor clears
    assert [(e.code, e.active) for e in feed.send(voltage_v=230)] == [("no_power", False)]


def test_for_s_raises_on_the_reading_that_reaches_the_duration() -> None:
    engine = RuleEngine(small_site())
    hold = next(f for f in engine.faults_of(PIPE) if f.code == "low_pressure").for_s
    assert hold is not None
    feed = Feeder(engine, PIPE)
    assert feed.send(0, pressure_kpa=120) == []
    assert feed.send(hold / 2, pressure_kpa=120) == []
    assert feed.send(hold / 2 - 0.001, pressure_kpa=120) == []
    events = feed.send(0.001, pressure_kpa=120)
    assert [(e.code, e.ts) for e in events] == [("low_pressure", feed.clock())]


def test_for_s_restarts_when_the_condition_breaks() -> None:
    engine = RuleEngine(small_site())
    hold = next(f for f in engine.faults_of(PIPE) if f.code == "low_pressure").for_s
    assert hold is not None
    feed = Feeder(engine, PIPE)
    assert feed.send(0, pressure_kpa=120) == []
    assert feed.send(hold - 1, pressure_kpa=300) == []  # recovered just before the deadline
    assert feed.send(1, pressure_kpa=120) == []
    assert feed.send(hold - 1, pressure_kpa=120) == []
    assert [e.code for e in feed.send(1, pressure_kpa=120)] == ["low_pressure"]


def test_overheat_hysteresis_does_not_flap() -> None:
    feed = Feeder(RuleEngine(small_site()), SHED)
    assert [(e.code, e.active) for e in feed.send(temp_c=61)] == [("overheat", True)]
    for temp in (59, 51, 55, 50, 58.9, 50.0):
        assert feed.send(temp_c=temp) == [], temp
    assert [(e.code, e.active) for e in feed.send(temp_c=49.9)] == [("overheat", False)]
    for temp in (51, 59, 60, 55):
        assert feed.send(temp_c=temp) == [], temp
    assert [(e.code, e.active) for e in feed.send(temp_c=60.5)] == [("overheat", True)]


BETWEEN = st.lists(
    st.floats(min_value=50.0, max_value=60.0, exclude_min=True, exclude_max=False), max_size=30
)


@given(BETWEEN)
def test_temps_between_the_thresholds_never_clear_a_raised_overheat(temps: list[float]) -> None:
    feed = Feeder(RuleEngine(small_site()), SHED)
    feed.send(temp_c=75)
    for temp in temps:
        assert feed.send(temp_c=temp) == []
    assert "overheat" in feed.engine.active_faults(SHED)


@given(BETWEEN)
def test_temps_between_the_thresholds_never_raise_overheat(temps: list[float]) -> None:
    feed = Feeder(RuleEngine(small_site()), SHED)
    for temp in temps:
        assert feed.send(temp_c=temp) == []
    assert feed.engine.active_faults(SHED) == frozenset()


def test_all_conditions_must_hold_for_a_multi_condition_fault() -> None:
    feed = Feeder(RuleEngine(small_site()), PIPE)
    assert feed.send(pressure_kpa=40, flow_lpm=50) == []
    assert feed.send(pressure_kpa=300, flow_lpm=500) == []
    assert [e.code for e in feed.send(pressure_kpa=300, flow_lpm=500, leak=True)] == ["leak"]
    assert "burst" in [e.code for e in feed.send(pressure_kpa=40, flow_lpm=500, leak=True)]


def test_older_reading_is_stale_and_changes_nothing() -> None:
    engine = RuleEngine(small_site())
    assert engine.on_reading(Reading(LIGHT, T0 + 10, None, {"current_a": 0.3})) == ()
    assert engine.on_reading(Reading(LIGHT, T0 + 5, None, {"current_a": 12})) is None
    assert engine.active_faults(LIGHT) == frozenset()
    same_time = engine.on_reading(Reading(LIGHT, T0 + 10, None, {"current_a": 12}))
    assert same_time is not None and [e.code for e in same_time] == ["short_circuit"]


def test_sequence_numbers_must_grow_until_the_device_comes_online_again() -> None:
    engine = RuleEngine(small_site())
    assert engine.on_reading(Reading(LIGHT, T0, 41, {"current_a": 0.3})) == ()
    assert engine.on_reading(Reading(LIGHT, T0 + 1, 41, {"current_a": 12})) is None  # duplicate
    assert engine.on_reading(Reading(LIGHT, T0 + 2, 3, {"current_a": 12})) is None  # went back
    engine.on_online(LIGHT)  # rebooted: counting restarts
    events = engine.on_reading(Reading(LIGHT, T0 + 3, 0, {"current_a": 12}))
    assert events is not None and [e.code for e in events] == ["short_circuit"]
    assert engine.on_reading(Reading(LIGHT, T0 + 4, 0, {"current_a": 12})) is None


def test_device_reports_raise_and_clear_once() -> None:
    engine = RuleEngine(small_site())
    raised = engine.on_report(DeviceReport(SHED, T0, "smoke", True, "detector 2"))
    assert raised is not None
    assert (raised.code, raised.active, raised.source, raised.severity, raised.detail) == (
        "smoke",
        True,
        EventSource.DEVICE,
        "critical",
        "detector 2",
    )
    assert engine.on_report(DeviceReport(SHED, T0 + 1, "smoke", True, "")) is None
    # The rule agrees: no second raise from telemetry either.
    assert engine.on_reading(Reading(SHED, T0 + 2, None, {"smoke": True})) == ()
    cleared = engine.on_report(DeviceReport(SHED, T0 + 3, "smoke", False, ""))
    assert cleared is not None and not cleared.active
    assert engine.on_report(DeviceReport(SHED, T0 + 4, "smoke", False, "")) is None


def test_site_overrides_change_thresholds_readings_and_enablement() -> None:
    site = small_site(
        type_overrides={"corridor_light": Overrides(params={"short_circuit_a": 8.0})},
        device_overrides={
            LIGHT: Overrides(
                params={"short_circuit_a": 10.0},
                faults={
                    "no_power": FaultOverride(readings=3),
                    "lamp_failure": FaultOverride(enabled=False),
                },
            )
        },
    )
    feed = Feeder(RuleEngine(site), LIGHT)
    assert feed.send(current_a=9.0) == []  # device layer (10 A) wins over the type layer (8 A)
    assert [e.code for e in feed.send(current_a=10.5)] == ["short_circuit"]
    assert feed.send(voltage_v=100) == []
    assert feed.send(voltage_v=100) == []
    assert [e.code for e in feed.send(voltage_v=100)] == ["no_power"]
    for _ in range(3):
        events = feed.send(lamp_on=True, current_a=0.0, voltage_v=100)
        assert "lamp_failure" not in [e.code for e in events]
    assert "lamp_failure" not in feed.engine.active_faults(LIGHT)
    assert (
        feed.engine.on_report(
            DeviceReport(LIGHT, feed.clock().timestamp(), "lamp_failure", True, "")
        )
        is None
    )


def test_missing_parameter_is_a_site_error() -> None:
    site = small_site(device_overrides={LIGHT: Overrides(params={})})
    RuleEngine(site)  # defaults are complete
    broken = small_site(devices={"x-1": "corridor_light", "y-1": "teapot"})
    with pytest.raises(SiteConfigError, match="y-1"):
        RuleEngine(broken)


def test_snapshot_and_restore_carry_state_across_engines() -> None:
    engine = RuleEngine(small_site())
    first = Feeder(engine, SHED)
    first.send(temp_c=70)
    Feeder(engine, LIGHT).send(lamp_on=True, current_a=0.0)  # first of two lamp_failure readings
    saved = json.loads(json.dumps(engine.snapshot()))  # plain data survives JSON

    restored = RuleEngine(small_site())
    restored.restore(saved)
    assert restored.snapshot() == saved
    assert restored.active_faults(SHED) == frozenset({"overheat"})
    second = Feeder(restored, SHED)
    second.clock, second.seq = first.clock, first.seq
    assert second.send(temp_c=55) == []  # still raised: no duplicate raise after restart
    assert [(e.code, e.active) for e in second.send(temp_c=45)] == [("overheat", False)]
    light = Feeder(restored, LIGHT)
    light.clock, light.seq = first.clock, 1
    assert [e.code for e in light.send(lamp_on=True, current_a=0.0)] == ["lamp_failure"]


def test_restore_ignores_devices_and_codes_the_site_no_longer_has() -> None:
    engine = RuleEngine(small_site())
    engine.restore(
        {
            "gone-1": {"last_ts": T0, "faults": {"smoke": {"active": True}}},
            SHED: {"last_ts": T0, "last_seq": None, "faults": {"retired": {"active": True}}},
        }
    )
    assert engine.active_faults(SHED) == frozenset()
