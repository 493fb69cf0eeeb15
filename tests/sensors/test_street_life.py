"""Street life: faults at the profile's rates, under the profile's conditions (fake clock)."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from core.settings import BUNDLED_SITE
from governance.loader import load_site
from sensors.behaviour import SimulatedDevice
from sensors.faults import ScenarioError
from sensors.simulator import FleetSimulator
from sensors.street_life import (
    FaultGenerator,
    load_street_life,
    local_hour_and_warmth,
    parse_street_life,
)

SEED = 7
TICK_S = 60.0
DAY_S = 86_400.0
UTC_OFFSET_H = 8.0  # the example street's time zone (Asia/Shanghai)
MIDWINTER = datetime(2026, 1, 15, tzinfo=UTC).timestamp() - UTC_OFFSET_H * 3600  # local midnight
MIDSUMMER = datetime(2026, 7, 15, tzinfo=UTC).timestamp() - UTC_OFFSET_H * 3600
WEATHER = {"winter_mean_c": -1, "summer_mean_c": 27, "daily_swing_c": 10, "frost_c": 0}
SIGMAS = 4  # a count this far from its mean fails the test (about 1 run in 16,000)


def fleet(lights: int = 400, pipes: int = 150, sheds: int = 100) -> list[SimulatedDevice]:
    kinds = (("light", "corridor_light", lights), ("pipe", "pipe", pipes))
    devices = [SimulatedDevice(f"{n}-{i}", t) for n, t, count in kinds for i in range(count)]
    return devices + [SimulatedDevice(f"shed-{i}", "charging_shed") for i in range(sheds)]


def life(*rates: dict[str, Any]) -> FaultGenerator:
    profile = parse_street_life({"tick_s": TICK_S, "weather": WEATHER, "faults": list(rates)})
    return FaultGenerator(fleet(), profile, seed=SEED, utc_offset_h=UTC_OFFSET_H)


def play_day(generator: FaultGenerator, start: float) -> list[tuple[float, str, str]]:
    """Every onset of one simulated day, (local hour, device, code); recoveries applied."""
    onsets = []
    at = start
    while at < start + DAY_S:
        for onset in generator.step(at, TICK_S):
            hour, _ = local_hour_and_warmth(onset.at, UTC_OFFSET_H)
            onsets.append((hour, onset.device_id, onset.code))
        generator.due(at + TICK_S)
        at += TICK_S
    return onsets


def test_an_unconditional_rate_is_honoured_over_a_day() -> None:
    generator = life(
        {"type": "pipe", "code": "leak", "per_device_per_hour": 0.02, "mean_duration_s": 300}
    )
    count = len(play_day(generator, MIDWINTER))
    expected = 150 * 0.02 * 24
    assert abs(count - expected) <= SIGMAS * math.sqrt(expected), (count, expected)


def test_lamps_fail_mostly_at_night() -> None:
    generator = life(
        {
            "type": "corridor_light",
            "code": "lamp_failure",
            "per_device_per_hour": 0.01,
            "when": "night",
            "otherwise": 0.1,
            "repair": "crew",
        }
    )
    onsets = play_day(generator, MIDWINTER)
    # Mid-winter nights run from about 16:45 to 07:15 local time (9.5 h of daylight).
    at_night = sum(1 for hour, _, _ in onsets if hour < 7 or hour >= 17)
    by_day = sum(1 for hour, _, _ in onsets if 8 <= hour < 16)
    assert at_night > 0.85 * len(onsets), Counter(int(h) for h, _, _ in onsets)
    assert 0 < by_day < at_night / 5  # the day rate is a tenth, not nothing


def test_pipes_freeze_on_winter_nights_and_never_in_summer() -> None:
    rate = {
        "type": "pipe",
        "code": "freeze_risk",
        "per_device_per_hour": 0.01,
        "when": "frost",
        "mean_duration_s": 3600,
    }
    winter = play_day(life(rate), MIDWINTER)
    summer = play_day(life(rate), MIDSUMMER)
    assert winter
    assert summer == []
    # The frost curve is coldest before dawn and above 0 °C in the afternoon at mid-winter.
    assert all(not 12 <= hour < 18 for hour, _, _ in winter)


def test_sheds_overheat_at_the_evening_charging_peak() -> None:
    generator = life(
        {
            "type": "charging_shed",
            "code": "overheat",
            "per_device_per_hour": 0.02,
            "when": "charging",
            "mean_duration_s": 1200,
        }
    )
    onsets = play_day(generator, MIDSUMMER)
    assert onsets
    assert all(hour >= 18 or hour < 1 for hour, _, _ in onsets), sorted(h for h, _, _ in onsets)


def test_auto_faults_recover_in_their_time_and_crew_faults_wait() -> None:
    generator = life(
        {"type": "pipe", "code": "leak", "per_device_per_hour": 0.05, "repair": "crew"},
        {"type": "pipe", "code": "low_pressure", "per_device_per_hour": 0.05,
         "mean_duration_s": 1000},
    )  # fmt: skip
    onsets = generator.step(MIDWINTER, 3600)
    assert {o.code for o in onsets} == {"leak", "low_pressure"}
    for onset in onsets:
        if onset.code == "leak":
            assert onset.recover_at is None
        else:
            assert onset.recover_at is not None
            assert 500 <= onset.recover_at - onset.at <= 1500
    ended = generator.due(MIDWINTER + 3600 + 1500)
    assert sorted(ended) == sorted((o.device_id, o.code) for o in onsets if o.code != "leak")
    assert generator.active == {(o.device_id, o.code) for o in onsets if o.code == "leak"}
    assert generator.due(MIDWINTER + 10 * DAY_S) == []  # each recovery is handed out once


def test_a_busy_device_gets_no_second_fault_of_the_same_code() -> None:
    generator = life({"type": "pipe", "code": "leak", "per_device_per_hour": 5, "repair": "crew"})
    first = generator.step(MIDWINTER, 3600)
    assert len(first) == 150  # every pipe, once
    assert generator.step(MIDWINTER + 3600, 3600) == []
    generator.forget("pipe-3")
    assert [o.device_id for o in generator.step(MIDWINTER + 7200, 3600)] == ["pipe-3"]


def test_the_bundled_profile_makes_a_few_faults_an_hour_on_the_example_street() -> None:
    site = load_site(BUNDLED_SITE)
    devices = [SimulatedDevice(d.id, d.type) for d in site.devices.values()]
    generator = FaultGenerator(devices, load_street_life(), seed=SEED, utc_offset_h=UTC_OFFSET_H)
    for start in (MIDWINTER, MIDSUMMER):
        per_hour = (
            sum(
                generator.expected(rate, start + hour * 3600, 3600)
                for rate in generator.life.rates
                for hour in range(24)
            )
            / 24
        )
        assert 1 <= per_hour <= 6, per_hour


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"code": "smoke"}, "not a fault of pipe"),
        ({"type": "tram"}, "unknown device type"),
        ({"when": "monsoon"}, "monsoon"),
        ({"per_device_per_hour": -1}, "per_device_per_hour"),
        ({"mean_duration_s": None}, "mean_duration_s"),
    ],
)
def test_a_bad_rate_is_refused_with_a_reason(change: dict[str, Any], message: str) -> None:
    rate = {"type": "pipe", "code": "leak", "per_device_per_hour": 0.1, "mean_duration_s": 60}
    document = {"tick_s": 60, "weather": WEATHER, "faults": [{**rate, **change}]}
    with pytest.raises(ScenarioError, match=message):
        parse_street_life(document, source="life.yaml")


def test_the_simulator_overlays_street_life_and_forgets_what_is_recovered() -> None:
    devices = [SimulatedDevice(f"pipe-{i}", "pipe") for i in range(20)]
    profile = parse_street_life(
        {
            "tick_s": TICK_S,
            "weather": WEATHER,
            "faults": [
                {"type": "pipe", "code": "leak", "per_device_per_hour": 50, "repair": "crew"}
            ],
        }
    )
    generator = FaultGenerator(devices, profile, seed=SEED)
    simulator = FleetSimulator(
        devices, host="127.0.0.1", port=1, interval_s=10, seed=1, life=generator,
        clock=lambda: MIDWINTER,
    )  # fmt: skip
    simulator._live(3600)  # one tick of an hour: every pipe develops a leak
    assert simulator.life_faults == {(d.id, "leak") for d in devices}
    assert all(simulator.faults(d.id) == ("leak",) for d in devices)
    simulator.recover("pipe-4", "leak")
    assert ("pipe-4", "leak") not in simulator.life_faults
    assert simulator.faults("pipe-4") == ()
