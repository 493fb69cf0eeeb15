"""Normal signals: inside the valid ranges, fault-free, realistic over the day, deterministic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sensors.behaviour import DeviceSpecError, SimulatedDevice, normal_reading
from sensors.profiles import PROFILES
from tests.sensors.rules import FaultTracker, all_hold, out_of_range

STEP_S = 300.0  # one reading every five minutes
DAY_S = 86_400.0
SEASON_DAYS = [datetime(2026, month, 15, tzinfo=UTC) for month in (1, 4, 7, 10)]
SEEDS = (1, 7, 2026)
CHINA_UTC_OFFSET_H = 8.0


def _day(start: datetime) -> list[float]:
    first = start.timestamp()
    return [first + i * STEP_S for i in range(int(DAY_S / STEP_S))]


def _check_day(device: SimulatedDevice, start: datetime, seed: int) -> None:
    profile = device.profile
    params = {**profile.params, **device.params}
    tracker = FaultTracker(profile, params)
    for at in _day(start):
        reading = normal_reading(device, at, seed=seed, utc_offset_h=CHINA_UTC_OFFSET_H)
        assert out_of_range(profile, reading) == [], (device.id, at, reading)
        # Stricter than the debounced rules: not one reading may meet a raise condition.
        for code, spec in profile.faults.items():
            assert not all_hold(spec.raise_when, reading, params), (code, at, reading)
            if spec.clear_when:
                assert all_hold(spec.clear_when, reading, params), (code, at, reading)
        assert tracker.feed(reading, at) == set()


@pytest.mark.parametrize("device_type", sorted(PROFILES))
@pytest.mark.parametrize("start", SEASON_DAYS, ids=lambda d: d.strftime("%b"))
def test_a_healthy_day_stays_in_range_and_raises_nothing(device_type: str, start: datetime) -> None:
    for seed in SEEDS:
        _check_day(SimulatedDevice(f"dev-{device_type}", device_type), start, seed)


@pytest.mark.parametrize(
    ("device_type", "params"),
    [
        ("charging_shed", {"rated_power_w": 2_000.0, "overheat_c": 30.0, "overheat_clear_c": 25.0}),
        ("pipe", {"freeze_c": 12.0, "low_pressure_kpa": 320.0, "blockage_cm": 10.0}),
        ("corridor_light", {"short_circuit_a": 0.5, "lamp_failure_a": 0.2, "no_power_v": 200.0}),
    ],
)
def test_per_device_thresholds_are_respected(device_type: str, params: dict[str, float]) -> None:
    device = SimulatedDevice("strict-1", device_type, params)
    for start in SEASON_DAYS:
        _check_day(device, start, seed=3)


def _local(hour: int, offset_h: float = CHINA_UTC_OFFSET_H) -> float:
    """Epoch seconds of a local hour on a winter day at the example site."""
    return (datetime(2026, 1, 15, hour, tzinfo=UTC) - timedelta(hours=offset_h)).timestamp()


def test_corridor_light_is_on_at_night_and_off_by_day() -> None:
    light = SimulatedDevice("light-1", "corridor_light")
    night = normal_reading(light, _local(2), seed=1, utc_offset_h=CHINA_UTC_OFFSET_H)
    noon = normal_reading(light, _local(12), seed=1, utc_offset_h=CHINA_UTC_OFFSET_H)
    assert night["lamp_on"] is True and noon["lamp_on"] is False
    assert 0.3 <= float(night["current_a"]) <= 0.6
    assert float(noon["current_a"]) < 0.05
    assert float(noon["lux"]) > float(night["lux"])
    for reading in (night, noon):
        assert 205.0 <= float(reading["voltage_v"]) <= 235.0


def test_water_demand_peaks_lower_pressure_and_raise_flow() -> None:
    pipe = SimulatedDevice("pipe-1", "pipe")
    quiet = normal_reading(pipe, _local(3), seed=1, utc_offset_h=CHINA_UTC_OFFSET_H)
    for peak_hour in (7, 20):
        peak = normal_reading(pipe, _local(peak_hour), seed=1, utc_offset_h=CHINA_UTC_OFFSET_H)
        assert 250.0 <= float(peak["pressure_kpa"]) < float(quiet["pressure_kpa"])
        assert float(peak["flow_lpm"]) > float(quiet["flow_lpm"])
    assert quiet["leak"] is False


def test_sheds_charge_in_the_evening_and_warm_with_load() -> None:
    shed = SimulatedDevice("shed-1", "charging_shed")
    morning = normal_reading(shed, _local(10), seed=1, utc_offset_h=CHINA_UTC_OFFSET_H)
    evening = normal_reading(shed, _local(21), seed=1, utc_offset_h=CHINA_UTC_OFFSET_H)
    assert float(evening["ports_in_use"]) > float(morning["ports_in_use"])
    assert float(evening["power_w"]) > float(morning["power_w"])
    assert evening["breaker_on"] is True and evening["smoke"] is False


def test_readings_are_deterministic_for_a_seed_and_a_time() -> None:
    device = SimulatedDevice("pipe-9", "pipe")
    at = _local(8)
    assert normal_reading(device, at, seed=5) == normal_reading(device, at, seed=5)
    others = {tuple(sorted(normal_reading(device, at, seed=s).items())) for s in range(5)}
    assert len(others) > 1


@pytest.mark.parametrize(
    ("device_id", "device_type", "params", "message"),
    [
        ("bad id!", "pipe", {}, "must match"),
        ("ok-1", "toaster", {}, "unknown type 'toaster'"),
        ("ok-1", "charging_shed", {"ports": float("nan")}, "'ports' must be finite"),
        ("ok-1", "pipe", {"freeze_c": "cold"}, "'freeze_c' must be a number"),
    ],
)
def test_invalid_device_descriptions_are_refused(
    device_id: str, device_type: str, params: dict[str, float], message: str
) -> None:
    with pytest.raises(DeviceSpecError, match=message):
        SimulatedDevice(device_id, device_type, params)
