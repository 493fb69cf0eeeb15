"""Normal signals of each device type, deterministic given a seed, a device and a time.

Readings follow the local day and the season (lights on at dusk, water demand peaks morning and
evening, e-bikes charge in the evening) and are kept clear of every fault threshold of the
device's effective parameters, so a healthy simulated device never raises a catalogue fault.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from sensors.contract import DEVICE_ID_PATTERN, MetricValue
from sensors.profiles import CHARGING_SHED, CORRIDOR_LIGHT, PIPE, PROFILES, Profile

Reading = dict[str, MetricValue]

SECONDS_PER_HOUR = 3_600.0
HOURS_PER_DAY = 24.0
DAYS_PER_YEAR = 365.25
COLDEST_DAY_OF_YEAR = 15.0  # mid-January in the northern hemisphere
# Shape of the local day (hours): when households draw water and plug in e-bikes, and when
# the air and the water in the pipes are warmest (a sine peaking 6 h after WARMING_STARTS_H).
MORNING_PEAK_H = 7.5
EVENING_PEAK_H = 19.5
CHARGING_PEAK_H = 21.5
WARMING_STARTS_H = 9.0
# Fraction of the distance to a fault threshold a normal reading never crosses.
SAFETY_MARGIN = 0.1

# Physical traits of the simulated equipment that the fault catalogue has no parameter for.
# A device's params may override any of them (and ``utc_offset_h``, the local time zone).
BEHAVIOUR_DEFAULTS: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        CORRIDOR_LIGHT.type: MappingProxyType(
            {
                "lamp_current_a": 0.45,  # LED corridor fitting, 0.3-0.6 A when lit
                "lamp_current_spread_a": 0.15,
                "standby_current_a": 0.01,
                "nominal_voltage_v": 220.0,
                "voltage_noise_v": 4.0,
                "peak_daylight_lux": 600.0,
                "switch_on_lux": 30.0,  # the photo switch lights the lamp below this
            }
        ),
        PIPE.type: MappingProxyType(
            {
                "static_pressure_kpa": 400.0,
                "peak_pressure_drop_kpa": 140.0,
                "base_flow_lpm": 8.0,
                "peak_flow_lpm": 70.0,
                "base_level_cm": 6.0,
                "peak_level_rise_cm": 10.0,
                "winter_water_c": 6.0,
                "summer_water_c": 20.0,
            }
        ),
        CHARGING_SHED.type: MappingProxyType(
            {
                "ports": 12.0,
                "port_power_w": 350.0,  # an e-bike charger
                "standby_power_w": 20.0,
                "winter_air_c": -2.0,
                "summer_air_c": 30.0,
                "load_heating_c": 10.0,  # temperature rise at full charging load
            }
        ),
    }
)


class SimulationError(Exception):
    """Base of the simulator's errors."""


class DeviceSpecError(SimulationError):
    """A simulated device description is invalid; carries the device id."""

    def __init__(self, device_id: str, message: str) -> None:
        super().__init__(f"device {device_id!r}: {message}")
        self.device_id = device_id


@dataclass(frozen=True, slots=True)
class SimulatedDevice:
    """A device the simulator plays: id, facility type and effective parameter overrides."""

    id: str
    type: str
    params: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not DEVICE_ID_PATTERN.fullmatch(self.id):
            raise DeviceSpecError(self.id, "id must match [A-Za-z0-9_-]{1,64}")
        if self.type not in PROFILES:
            known = ", ".join(sorted(PROFILES))
            raise DeviceSpecError(self.id, f"unknown type {self.type!r} (known: {known})")
        for name, value in self.params.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise DeviceSpecError(self.id, f"param {name!r} must be a number, not {value!r}")
            if not math.isfinite(value):
                raise DeviceSpecError(self.id, f"param {name!r} must be finite, not {value}")

    @property
    def profile(self) -> Profile:
        """The facility profile of this device's type."""
        return PROFILES[self.type]

    def param(self, name: str) -> float:
        """A parameter: the device's own, else the profile's default, else the behaviour's."""
        if name in self.params:
            return float(self.params[name])
        if name in self.profile.params:
            return float(self.profile.params[name])
        return float(BEHAVIOUR_DEFAULTS[self.type][name])


@dataclass(frozen=True, slots=True)
class _Moment:
    """Local time of day and season of a reading, plus its noise source."""

    hour: float  # local hour of day, [0, 24)
    warmth: float  # 0 in mid-winter, 1 in mid-summer
    rng: random.Random


def _moment(device: SimulatedDevice, at: float, seed: int, utc_offset_h: float) -> _Moment:
    offset_h = float(device.params.get("utc_offset_h", utc_offset_h))
    local_s = at + offset_h * SECONDS_PER_HOUR
    hour = (local_s / SECONDS_PER_HOUR) % HOURS_PER_DAY
    day_of_year = (local_s / (SECONDS_PER_HOUR * HOURS_PER_DAY)) % DAYS_PER_YEAR
    warmth = (1.0 - math.cos(2 * math.pi * (day_of_year - COLDEST_DAY_OF_YEAR) / DAYS_PER_YEAR)) / 2
    # A string seed is hashed stably by random, unlike hash(): same output in every process.
    return _Moment(hour, warmth, random.Random(f"{seed}/{device.id}/{at:.3f}"))


def _bump(hour: float, centre: float, width_h: float) -> float:
    """A daily bell curve peaking at ``centre`` (wrapping at midnight), 0..1."""
    distance = abs(hour - centre) % HOURS_PER_DAY
    distance = min(distance, HOURS_PER_DAY - distance)
    return math.exp(-((distance / width_h) ** 2) / 2)


def _below(value: float, threshold: float) -> float:
    """``value`` but never closer than the safety margin below ``threshold``."""
    return min(value, threshold - SAFETY_MARGIN * abs(threshold) - SAFETY_MARGIN)


def _above(value: float, threshold: float) -> float:
    """``value`` but never closer than the safety margin above ``threshold``."""
    return max(value, threshold + SAFETY_MARGIN * abs(threshold) + SAFETY_MARGIN)


def daylight_fraction(hour: float, warmth: float) -> float:
    """Share of peak daylight at a local hour; days run ~9.5 h in winter to ~14.5 h in summer."""
    day_length = 9.5 + 5.0 * warmth
    sunrise = 12.0 - day_length / 2
    if not sunrise < hour < sunrise + day_length:
        return 0.0
    return math.sin(math.pi * (hour - sunrise) / day_length)


def _corridor_light(device: SimulatedDevice, m: _Moment) -> Reading:
    p = device.param
    lux = p("peak_daylight_lux") * daylight_fraction(m.hour, m.warmth) * m.rng.uniform(0.85, 1.1)
    lux = max(0.0, lux + m.rng.uniform(0.0, 2.0))
    lamp_on = lux < p("switch_on_lux")
    if lamp_on:
        spread = p("lamp_current_spread_a")
        current = p("lamp_current_a") + m.rng.uniform(-spread, spread)
        current = _above(current, p("lamp_failure_a"))
    else:
        current = m.rng.uniform(0.0, p("standby_current_a"))
    current = _below(current, p("short_circuit_a"))
    # The supply sags a little at the evening peak.
    sag = p("voltage_noise_v") * _bump(m.hour, EVENING_PEAK_H, 2.0)
    noise = p("voltage_noise_v") * m.rng.uniform(-0.75, 0.75)
    voltage = _above(p("nominal_voltage_v") - sag + noise, p("no_power_v"))
    return {
        "lamp_on": lamp_on,
        "current_a": round(max(0.0, current), 3),
        "voltage_v": round(voltage, 1),
        "lux": round(lux, 1),
    }


def water_demand(hour: float) -> float:
    """Household water demand at a local hour, 0..1: morning and evening peaks."""
    demand = 0.1 + 0.85 * _bump(hour, MORNING_PEAK_H, 1.2) + 0.7 * _bump(hour, EVENING_PEAK_H, 1.5)
    return min(1.0, demand)


def _pipe(device: SimulatedDevice, m: _Moment) -> Reading:
    p = device.param
    demand = water_demand(m.hour) * m.rng.uniform(0.9, 1.05)
    pressure = p("static_pressure_kpa") - p("peak_pressure_drop_kpa") * demand
    pressure += m.rng.uniform(-8.0, 8.0)
    pressure = _above(pressure, max(p("low_pressure_kpa"), p("burst_kpa")))
    flow = p("base_flow_lpm") + p("peak_flow_lpm") * demand + m.rng.uniform(-3.0, 3.0)
    flow = _below(max(0.0, flow), p("burst_flow_lpm"))
    level = p("base_level_cm") + p("peak_level_rise_cm") * demand + m.rng.uniform(-1.5, 1.5)
    level = _below(max(0.0, level), p("blockage_cm"))
    water = p("winter_water_c") + (p("summer_water_c") - p("winter_water_c")) * m.warmth
    water += 1.5 * math.sin(2 * math.pi * (m.hour - WARMING_STARTS_H) / HOURS_PER_DAY)
    water = _above(water + m.rng.uniform(-0.3, 0.3), p("freeze_c"))
    return {
        "pressure_kpa": round(max(0.0, pressure), 1),
        "flow_lpm": round(max(0.0, flow), 2),
        "leak": False,
        "level_cm": round(max(0.0, level), 1),
        "temp_c": round(water, 2),
    }


def charging_occupancy(hour: float) -> float:
    """Share of charging ports in use at a local hour, 0..1: e-bikes plug in after work."""
    return min(1.0, 0.08 + 0.8 * _bump(hour, CHARGING_PEAK_H, 2.5))


def _charging_shed(device: SimulatedDevice, m: _Moment) -> Reading:
    p = device.param
    ports = max(0, round(p("ports")))
    in_use = min(ports, round(ports * charging_occupancy(m.hour) * m.rng.uniform(0.8, 1.1)))
    power = in_use * p("port_power_w") * m.rng.uniform(0.85, 1.0) + p("standby_power_w")
    power = max(0.0, _below(power, p("rated_power_w")))
    load = in_use / ports if ports else 0.0
    air = p("winter_air_c") + (p("summer_air_c") - p("winter_air_c")) * m.warmth
    air += 4.0 * math.sin(2 * math.pi * (m.hour - WARMING_STARTS_H) / HOURS_PER_DAY)
    temp = air + p("load_heating_c") * load + m.rng.uniform(-0.5, 0.5)
    # Below the clear threshold too, so an overheat the gateway raised earlier clears.
    temp = _below(temp, min(p("overheat_c"), p("overheat_clear_c")))
    return {
        "temp_c": round(temp, 2),
        "smoke": False,
        "power_w": round(power, 1),
        "ports_in_use": in_use,
        "ports_faulted": 0,
        "breaker_on": True,
    }


_SIGNALS: Mapping[str, Callable[[SimulatedDevice, _Moment], Reading]] = MappingProxyType(
    {
        CORRIDOR_LIGHT.type: _corridor_light,
        PIPE.type: _pipe,
        CHARGING_SHED.type: _charging_shed,
    }
)


def normal_reading(
    device: SimulatedDevice, at: float, *, seed: int, utc_offset_h: float = 0.0
) -> Reading:
    """A healthy device's readings at epoch second ``at``; same inputs, same readings."""
    return _SIGNALS[device.type](device, _moment(device, at, seed, utc_offset_h))
