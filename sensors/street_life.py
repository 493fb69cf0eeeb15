"""Street life: faults that develop by themselves at realistic rates, read from a profile file.

Each rate is per device and hour while its condition holds (lamps fail at night, pipes freeze in
frost, sheds overheat while e-bikes charge) and ``otherwise`` times that outside it. A fault
either recovers by itself after about ``mean_duration_s`` or waits for a crew (``repair: crew``).
The generator is pure given its seed and the times it is stepped through, so a fake clock replays
a day in milliseconds; the fleet simulator and ``fm demo``'s history seeding both drive it.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import yaml

from sensors.behaviour import (
    COLDEST_DAY_OF_YEAR,
    DAYS_PER_YEAR,
    HOURS_PER_DAY,
    SECONDS_PER_HOUR,
    WARMING_STARTS_H,
    SimulatedDevice,
    charging_occupancy,
    daylight_fraction,
)
from sensors.faults import ScenarioError, injectable_codes
from sensors.profiles import PROFILES

BUNDLED_LIFE = Path(__file__).resolve().parent / "scenarios" / "street-life.yaml"
#: Share of the ports in use above which a shed counts as "charging" (the evening peak).
CHARGING_PEAK_SHARE = 0.5
#: Above this expected count per tick a Poisson draw uses the normal approximation.
POISSON_EXACT_LIMIT = 30.0
#: A self-recovering fault lasts between these shares of its mean duration (uniform).
DURATION_SPREAD = (0.5, 1.5)


class Condition(StrEnum):
    """When a fault's full rate applies."""

    ALWAYS = "always"
    NIGHT = "night"  # no daylight at the street's local time
    FROST = "frost"  # the air is below the weather's frost temperature
    CHARGING = "charging"  # the evening charging peak


class Repair(StrEnum):
    """How a generated fault ends."""

    AUTO = "auto"  # by itself (power back, thaw, cooled down, rebooted)
    CREW = "crew"  # only when a crew fixes it


@dataclass(frozen=True, slots=True)
class Weather:
    """A simple air-temperature curve: seasonal mean plus a daily swing peaking mid-afternoon."""

    winter_mean_c: float
    summer_mean_c: float
    daily_swing_c: float
    frost_c: float

    def air_c(self, hour: float, warmth: float) -> float:
        """Air temperature at a local hour and season (``warmth`` 0 mid-winter, 1 mid-summer)."""
        mean = self.winter_mean_c + (self.summer_mean_c - self.winter_mean_c) * warmth
        phase = 2 * math.pi * (hour - WARMING_STARTS_H) / HOURS_PER_DAY
        return mean + self.daily_swing_c / 2 * math.sin(phase)


@dataclass(frozen=True, slots=True)
class FaultRate:
    """How often one fault of one device type starts, and how it ends."""

    type: str
    code: str
    per_device_per_hour: float
    when: Condition
    otherwise: float  # share of the rate outside the condition
    repair: Repair
    mean_duration_s: float  # only for Repair.AUTO


@dataclass(frozen=True, slots=True)
class StreetLife:
    """A street-life profile: the tick of the generator, the weather and the fault rates."""

    name: str
    tick_s: float
    weather: Weather
    rates: tuple[FaultRate, ...]


@dataclass(frozen=True, slots=True)
class Onset:
    """A fault that starts at ``at``; ``recover_at`` None waits for a crew."""

    device_id: str
    code: str
    at: float
    recover_at: float | None


def local_hour_and_warmth(at: float, utc_offset_h: float) -> tuple[float, float]:
    """Local hour of day and season warmth (0 mid-winter, 1 mid-summer) at epoch ``at``."""
    local_s = at + utc_offset_h * SECONDS_PER_HOUR
    hour = (local_s / SECONDS_PER_HOUR) % HOURS_PER_DAY
    day_of_year = (local_s / (SECONDS_PER_HOUR * HOURS_PER_DAY)) % DAYS_PER_YEAR
    warmth = (1.0 - math.cos(2 * math.pi * (day_of_year - COLDEST_DAY_OF_YEAR) / DAYS_PER_YEAR)) / 2
    return hour, warmth


def poisson(rng: random.Random, expected: float) -> int:
    """A Poisson-distributed count with mean ``expected`` (Knuth; normal when large)."""
    if expected <= 0:
        return 0
    if expected > POISSON_EXACT_LIMIT:
        return max(0, round(rng.gauss(expected, math.sqrt(expected))))
    limit, count, product = math.exp(-expected), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


class FaultGenerator:
    """Draws the faults a fleet develops over time; remembers which it made until they end."""

    def __init__(
        self,
        devices: Sequence[SimulatedDevice],
        life: StreetLife,
        *,
        seed: int,
        utc_offset_h: float = 0.0,
    ) -> None:
        self.life = life
        self._rng = random.Random(f"street-life/{seed}")
        self._utc_offset_h = utc_offset_h
        self._by_type: dict[str, list[str]] = {}
        for device in sorted(devices, key=lambda d: d.id):
            self._by_type.setdefault(device.type, []).append(device.id)
        self._active: set[tuple[str, str]] = set()
        self._recoveries: list[tuple[float, str, str]] = []  # heap of (due, device, code)

    @property
    def active(self) -> frozenset[tuple[str, str]]:
        """The (device, code) pairs this generator started that have not ended yet."""
        return frozenset(self._active)

    def holds(self, rate: FaultRate, at: float) -> bool:
        """True when ``rate``'s condition holds at epoch ``at`` on the street."""
        hour, warmth = local_hour_and_warmth(at, self._utc_offset_h)
        match rate.when:
            case Condition.NIGHT:
                return daylight_fraction(hour, warmth) == 0.0
            case Condition.FROST:
                return self.life.weather.air_c(hour, warmth) < self.life.weather.frost_c
            case Condition.CHARGING:
                return charging_occupancy(hour) >= CHARGING_PEAK_SHARE
            case _:
                return True

    def expected(self, rate: FaultRate, at: float, dt: float) -> float:
        """Expected onsets of ``rate`` across the fleet in ``dt`` seconds from ``at``."""
        share = 1.0 if self.holds(rate, at) else rate.otherwise
        fleet = len(self._by_type.get(rate.type, ()))
        return fleet * rate.per_device_per_hour * share * dt / SECONDS_PER_HOUR

    def step(
        self, at: float, dt: float, *, busy: Callable[[str, str], bool] | None = None
    ) -> list[Onset]:
        """The faults that start in ``[at, at + dt)``; ``busy`` devices are left alone."""
        onsets: list[Onset] = []
        for rate in self.life.rates:
            count = poisson(self._rng, self.expected(rate, at, dt))
            if not count:
                continue
            free = [
                device_id
                for device_id in self._by_type.get(rate.type, ())
                if (device_id, rate.code) not in self._active
                and not (busy is not None and busy(device_id, rate.code))
            ]
            for device_id in self._rng.sample(free, min(count, len(free))):
                start = at + self._rng.uniform(0.0, dt)
                onsets.append(self._start(rate, device_id, start))
        onsets.sort(key=lambda onset: onset.at)
        return onsets

    def _start(self, rate: FaultRate, device_id: str, start: float) -> Onset:
        self._active.add((device_id, rate.code))
        if rate.repair is Repair.CREW:
            return Onset(device_id, rate.code, start, None)
        low, high = DURATION_SPREAD
        end = start + rate.mean_duration_s * self._rng.uniform(low, high)
        heapq.heappush(self._recoveries, (end, device_id, rate.code))
        return Onset(device_id, rate.code, start, end)

    def due(self, now: float) -> list[tuple[str, str]]:
        """Self-recovering faults whose time has come (each returned once, then forgotten)."""
        ended: list[tuple[str, str]] = []
        while self._recoveries and self._recoveries[0][0] <= now:
            _, device_id, code = heapq.heappop(self._recoveries)
            if (device_id, code) in self._active:
                self._active.discard((device_id, code))
                ended.append((device_id, code))
        return ended

    def forget(self, device_id: str, code: str | None = None) -> None:
        """A fault ended some other way (a crew, an operator): no longer ours to end."""
        self._active = {
            (d, c) for d, c in self._active if d != device_id or (code is not None and c != code)
        }


# -- the profile file -------------------------------------------------------------------------

_RATE_KEYS = frozenset(
    {"type", "code", "per_device_per_hour", "when", "otherwise", "repair", "mean_duration_s"}
)


def _number(raw: Mapping[str, object], key: str, source: str, *, positive: bool = True) -> float:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(source, f"{key!r} must be a number, not {value!r}")
    if value < 0 or (positive and value == 0):
        raise ScenarioError(source, f"{key!r} must be {'positive' if positive else '≥ 0'}")
    return float(value)


def _celsius(raw: Mapping[str, object], key: str, source: str) -> float:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(source, f"weather {key!r} must be degrees Celsius, not {value!r}")
    return float(value)


def _parse_rate(raw: object, source: str) -> FaultRate:
    if not isinstance(raw, Mapping) or set(raw) - _RATE_KEYS:
        raise ScenarioError(source, f"a fault rate is a mapping of {sorted(_RATE_KEYS)}: {raw!r}")
    device_type, code = raw.get("type"), raw.get("code")
    if not isinstance(device_type, str) or device_type not in PROFILES:
        raise ScenarioError(source, f"unknown device type {device_type!r}")
    if not isinstance(code, str) or code not in injectable_codes(device_type):
        raise ScenarioError(source, f"{code!r} is not a fault of {device_type}")
    try:
        when = Condition(raw.get("when", Condition.ALWAYS))
        repair = Repair(raw.get("repair", Repair.AUTO))
    except ValueError as exc:
        raise ScenarioError(source, f"{device_type}/{code}: {exc}") from exc
    otherwise = _number(
        {**raw, "otherwise": raw.get("otherwise", 0.0)}, "otherwise", source, positive=False
    )
    duration = _number(raw, "mean_duration_s", source) if repair is Repair.AUTO else 0.0
    return FaultRate(
        type=device_type,
        code=code,
        per_device_per_hour=_number(raw, "per_device_per_hour", source, positive=False),
        when=when,
        otherwise=otherwise,
        repair=repair,
        mean_duration_s=duration,
    )


def parse_street_life(document: object, *, source: str = "<street life>") -> StreetLife:
    """A StreetLife from parsed YAML (keys ``faults``, ``weather``, ``tick_s``; others ignored)."""
    if not isinstance(document, Mapping):
        raise ScenarioError(source, "a street-life profile must be a mapping")
    weather = document.get("weather")
    if not isinstance(weather, Mapping):
        raise ScenarioError(source, "'weather' must be a mapping")
    climate = Weather(
        winter_mean_c=_celsius(weather, "winter_mean_c", source),
        summer_mean_c=_celsius(weather, "summer_mean_c", source),
        daily_swing_c=_number(weather, "daily_swing_c", source, positive=False),
        frost_c=_celsius(weather, "frost_c", source),
    )
    rates = document.get("faults")
    if not isinstance(rates, list) or not rates:
        raise ScenarioError(source, "'faults' must be a non-empty list")
    name = document.get("name", source)
    return StreetLife(
        name=str(name),
        tick_s=_number(document, "tick_s", source),
        weather=climate,
        rates=tuple(_parse_rate(raw, source) for raw in rates),
    )


def load_street_life(path: str | Path = BUNDLED_LIFE) -> StreetLife:
    """Read and validate a street-life profile file."""
    source = str(path)
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScenarioError(source, f"cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ScenarioError(source, f"not valid YAML: {exc}") from exc
    return parse_street_life(document, source=source)
