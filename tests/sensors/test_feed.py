"""A device feed numbers and stamps its messages strictly upward, whatever the clock does."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sensors.behaviour import SimulatedDevice
from sensors.faults import FaultInjectionError, ScenarioError, parse_scenario
from sensors.simulator import DeviceFeed, FleetSimulator, SimulationError

START = 1_800_000_000.0
clock_steps = st.lists(st.floats(min_value=-600.0, max_value=600.0), min_size=1, max_size=60)


@given(clock_steps)
def test_seq_and_ts_increase_even_when_the_clock_jumps_back(steps: list[float]) -> None:
    feed = DeviceFeed(SimulatedDevice("light-1", "corridor_light"), seed=1)
    now = START
    messages = []
    for step in steps:
        now += step
        messages.append(feed.next_telemetry(now))
    seqs = [m.seq for m in messages]
    stamps = [m.ts for m in messages]
    assert seqs == list(range(1, len(messages) + 1))
    assert all(b is not None and a is not None and b > a for a, b in itertools.pairwise(stamps))


def test_injected_faults_overlay_until_recovered() -> None:
    feed = DeviceFeed(SimulatedDevice("shed-1", "charging_shed"), seed=1)
    feed.inject("smoke")
    feed.inject("port_fault")
    feed.inject("smoke")  # idempotent
    assert feed.faults == ["smoke", "port_fault"]
    metrics = feed.next_telemetry(START).metrics
    assert metrics["smoke"] is True and metrics["ports_faulted"] == 2
    assert feed.recover("smoke") == ["smoke"]
    assert feed.recover("smoke") == []
    assert feed.next_telemetry(START + 1).metrics["smoke"] is False
    assert feed.recover() == ["port_fault"]
    assert feed.next_telemetry(START + 2).metrics["ports_faulted"] == 0
    with pytest.raises(FaultInjectionError, match="not a fault of charging_shed"):
        feed.inject("leak")


def test_the_simulator_refuses_bad_fleets_and_unknown_devices() -> None:
    light = SimulatedDevice("light-1", "corridor_light")
    with pytest.raises(SimulationError, match="unique"):
        FleetSimulator([light, light], host="127.0.0.1", port=1, interval_s=1.0, seed=1)
    with pytest.raises(SimulationError, match="interval_s must be positive"):
        FleetSimulator([light], host="127.0.0.1", port=1, interval_s=0.0, seed=1)
    simulator = FleetSimulator([light], host="127.0.0.1", port=1, interval_s=1.0, seed=1)
    with pytest.raises(FaultInjectionError, match="no such device"):
        simulator.inject("pipe-7", "leak")
    simulator.inject("light-1", "lamp_failure")  # before run(): remembered
    assert simulator.faults("light-1") == ("lamp_failure",)


def test_the_simulator_checks_its_scenario_against_the_fleet() -> None:
    scenario = parse_scenario(
        {"steps": [{"at": 1, "action": "inject", "device": "light-1", "code": "burst"}]}
    )
    light = SimulatedDevice("light-1", "corridor_light")
    with pytest.raises(ScenarioError, match="'burst' is not a fault of corridor_light light-1"):
        FleetSimulator([light], host="127.0.0.1", port=1, interval_s=1.0, seed=1, scenario=scenario)
