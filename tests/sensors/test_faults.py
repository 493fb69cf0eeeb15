"""Fault overlays trigger their catalogue fault; scenarios are validated with clear errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

import sensors
from sensors.behaviour import SimulatedDevice, normal_reading
from sensors.catalogue import OFFLINE
from sensors.faults import (
    CONNECTION_FAULTS,
    DROPOUT,
    OVERLAYS,
    FaultInjectionError,
    ScenarioError,
    check_injectable,
    faulty_reading,
    injectable_codes,
    load_scenario,
    parse_scenario,
)
from sensors.profiles import PROFILES
from tests.sensors.rules import FaultTracker, all_hold, out_of_range

READING_EVERY_S = 10.0
INJECTED_FOR_S = 120.0  # longer than any debounce of the catalogue (low_pressure: 60 s)
DEMO = Path(sensors.__file__).parent / "scenarios" / "demo.yaml"
CATALOGUE = [
    (t, code) for t, profile in sorted(PROFILES.items()) for code in sorted(profile.faults)
]
STRICT_PARAMS = {
    "corridor_light": {"short_circuit_a": 20.0, "no_power_v": 100.0, "lamp_failure_a": 0.1},
    "pipe": {"blockage_cm": 150.0, "low_pressure_kpa": 90.0, "freeze_c": -5.0, "burst_kpa": 10.0},
    "charging_shed": {"overheat_c": 90.0, "overheat_clear_c": 80.0, "rated_power_w": 4_000.0},
}


def test_every_catalogue_fault_has_an_overlay() -> None:
    for device_type, profile in PROFILES.items():
        assert set(OVERLAYS[device_type]) == set(profile.faults)
        assert injectable_codes(device_type) == profile.fault_codes | {DROPOUT}


@pytest.mark.parametrize("strict", [False, True], ids=["default-params", "device-params"])
@pytest.mark.parametrize(("device_type", "code"), CATALOGUE)
def test_injected_readings_raise_their_fault(device_type: str, code: str, strict: bool) -> None:
    device = SimulatedDevice("dev-1", device_type, STRICT_PARAMS[device_type] if strict else {})
    params = {**device.profile.params, **device.params}
    spec = device.profile.faults[code]
    tracker = FaultTracker(device.profile, params)
    start = datetime(2026, 7, 1, 12, tzinfo=UTC).timestamp()
    active: set[str] = set()
    for step in range(int(INJECTED_FOR_S / READING_EVERY_S) + 1):
        at = start + step * READING_EVERY_S
        reading = faulty_reading(device, normal_reading(device, at, seed=4), [code])
        assert out_of_range(device.profile, reading) == [], reading
        assert all_hold(spec.raise_when, reading, params), reading
        active = tracker.feed(reading, at)
    assert code in active
    # Recovery: back to normal readings clears it.
    recovered = normal_reading(device, start + INJECTED_FOR_S + READING_EVERY_S, seed=4)
    assert code not in tracker.feed(recovered, start + INJECTED_FOR_S + READING_EVERY_S)


def test_connection_faults_leave_readings_alone() -> None:
    device = SimulatedDevice("pipe-1", "pipe")
    normal = normal_reading(device, 1_800_000_000.0, seed=1)
    assert faulty_reading(device, normal, sorted(CONNECTION_FAULTS)) == normal


def test_a_code_alien_to_the_type_is_refused() -> None:
    with pytest.raises(FaultInjectionError, match="'smoke': not a fault of pipe"):
        check_injectable(SimulatedDevice("pipe-1", "pipe"), "smoke")
    check_injectable(SimulatedDevice("pipe-1", "pipe"), OFFLINE)


def _demo_fleet() -> dict[str, SimulatedDevice]:
    site = yaml.safe_load(
        (Path(sensors.__file__).parents[1] / "governance/sites/xincheng.yaml").read_text()
    )
    return {
        d["id"]: SimulatedDevice(d["id"], d["type"], d.get("params", {})) for d in site["devices"]
    }


def test_the_demo_scenario_loads_sorted_and_fits_the_example_site() -> None:
    scenario = load_scenario(DEMO)
    times = [step.at_s for step in scenario.steps]
    assert times == sorted(times) and len(times) > 5
    assert {step.code for step in scenario.steps} >= {"short_circuit", OFFLINE, DROPOUT}
    scenario.validate_for(_demo_fleet())


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "must be a mapping"),
        ({"steps": []}, "'steps' must be a non-empty list"),
        ({"steps": ["x"]}, "step 1: a step must be a mapping"),
        ({"steps": [{"at": -5, "action": "inject", "device": "a", "code": "leak"}]}, "negative"),
        ({"steps": [{"at": "soon", "action": "inject", "device": "a", "code": "leak"}]}, "'at'"),
        ({"steps": [{"at": 1, "action": "explode", "device": "a", "code": "leak"}]}, "'action'"),
        ({"steps": [{"at": 1, "action": "inject", "device": "a"}]}, "needs a 'code'"),
        (
            {"steps": [{"at": 1, "action": "inject", "device": "a", "code": "gremlins"}]},
            "unknown fault code",
        ),
        (
            {"steps": [{"at": 1, "action": "recover", "device": "a", "colour": "red"}]},
            "unknown keys",
        ),
        ({"steps": [{"at": 1, "action": "recover", "device": ""}]}, "'device'"),
    ],
)
def test_malformed_scenarios_are_refused_with_the_step(document: object, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(document, source="test.yaml")


def test_a_scenario_is_checked_against_the_fleet() -> None:
    scenario = parse_scenario(
        {"steps": [{"at": 5, "action": "inject", "device": "pipe-1", "code": "smoke"}]}
    )
    fleet = {"pipe-1": SimulatedDevice("pipe-1", "pipe")}
    with pytest.raises(ScenarioError, match="'smoke' is not a fault of pipe pipe-1"):
        scenario.validate_for(fleet)
    with pytest.raises(ScenarioError, match="unknown device 'pipe-2'"):
        parse_scenario(
            {"steps": [{"at": 5, "action": "recover", "device": "pipe-2"}]}
        ).validate_for(fleet)


def test_unreadable_and_invalid_yaml_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("steps: [unclosed\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(broken)
