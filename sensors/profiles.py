"""Facility profiles: metrics, units, valid ranges and the fault catalogue of each device type.

One source of truth for the simulator (what to send) and the gateway (what to accept and detect).
Thresholds are named parameters (``$name`` in a condition) so the site file can override them per
device type and per device without touching the rules themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from sensors.catalogue import OFFLINE, Severity


class MetricKind(StrEnum):
    """The JSON type a metric must have."""

    NUMBER = "number"
    BOOL = "bool"


@dataclass(frozen=True, slots=True)
class Metric:
    """One measured quantity with its unit and the range a working sensor can report."""

    name: str
    kind: MetricKind
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None


Operator = Literal[">", ">=", "<", "<=", "==", "!="]


@dataclass(frozen=True, slots=True)
class Condition:
    """``metric op value``; a string value starting with ``$`` names a threshold parameter."""

    metric: str
    op: Operator
    value: float | bool | str


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """A catalogue entry: raise when all ``raise_when`` hold, clear when all ``clear_when`` hold.

    ``clear_when`` empty means "clears as soon as the raise condition no longer holds".
    ``readings`` is how many consecutive readings must match; ``for_s`` names the parameter
    holding how long the condition must persist before it raises (both debounce the raise).
    """

    code: str
    severity: Severity
    raise_when: tuple[Condition, ...]
    clear_when: tuple[Condition, ...] = ()
    readings: int = 1
    for_s: str | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class Profile:
    """A device type: its metrics, fault catalogue and default parameters."""

    type: str
    description: str
    metrics: Mapping[str, Metric]
    faults: Mapping[str, FaultSpec]
    params: Mapping[str, float]
    offline_severity: Severity = Severity.MINOR

    @property
    def fault_codes(self) -> frozenset[str]:
        """Every code a device of this type can raise, ``offline`` included."""
        return frozenset(self.faults) | {OFFLINE}

    def severity_of(self, code: str) -> Severity:
        """The catalogue severity of a fault code of this type."""
        if code == OFFLINE:
            return self.offline_severity
        return self.faults[code].severity


def _metrics(*items: Metric) -> Mapping[str, Metric]:
    return MappingProxyType({m.name: m for m in items})


def _faults(*items: FaultSpec) -> Mapping[str, FaultSpec]:
    return MappingProxyType({f.code: f for f in items})


N, B = MetricKind.NUMBER, MetricKind.BOOL
C = Condition

CORRIDOR_LIGHT = Profile(
    type="corridor_light",
    description="Corridor / stairwell light with a current and voltage sensor",
    metrics=_metrics(
        Metric("lamp_on", B),
        # A short circuit drives the current far past the 5 A rule (to the meter's limit); surges
        # push the voltage well above the mains peak.
        Metric("current_a", N, "A", 0.0, 1_000.0),
        Metric("voltage_v", N, "V", 0.0, 1_000.0),
        Metric("lux", N, "lx", 0.0, 200_000.0),
    ),
    faults=_faults(
        FaultSpec(
            "short_circuit",
            Severity.MAJOR,
            (C("current_a", ">", "$short_circuit_a"),),
            description="current above the short-circuit threshold",
        ),
        FaultSpec(
            "lamp_failure",
            Severity.MINOR,
            (C("lamp_on", "==", True), C("current_a", "<", "$lamp_failure_a")),
            readings=2,
            description="lamp switched on but drawing no current",
        ),
        FaultSpec(
            "no_power",
            Severity.MAJOR,
            (C("voltage_v", "<", "$no_power_v"),),
            readings=2,
            description="supply voltage collapsed",
        ),
    ),
    params=MappingProxyType(
        {
            "short_circuit_a": 5.0,
            "lamp_failure_a": 0.02,
            "no_power_v": 180.0,
            "heartbeat_s": 60.0,
            "offline_after_heartbeats": 3.0,
        }
    ),
)

PIPE = Profile(
    type="pipe",
    description="Water pipe / drain with pressure, flow, leak, level and temperature sensors",
    metrics=_metrics(
        # Gauge pressure: a burst can pull a section to vacuum (-100 kPa), a water hammer spike it
        # far above the working pressure; a burst main can flow tens of thousands of L/min.
        Metric("pressure_kpa", N, "kPa", -100.0, 10_000.0),
        Metric("flow_lpm", N, "L/min", 0.0, 50_000.0),
        Metric("leak", B),
        Metric("level_cm", N, "cm", 0.0, 1_000.0),
        Metric("temp_c", N, "°C", -50.0, 150.0),
    ),
    faults=_faults(
        FaultSpec(
            "burst",
            Severity.CRITICAL,
            (C("pressure_kpa", "<", "$burst_kpa"), C("flow_lpm", ">", "$burst_flow_lpm")),
            description="pressure collapsed while flow surges",
        ),
        FaultSpec("leak", Severity.MAJOR, (C("leak", "==", True),), description="leak sensor wet"),
        FaultSpec(
            "blockage",
            Severity.MAJOR,
            (C("level_cm", ">", "$blockage_cm"),),
            description="drain level high",
        ),
        FaultSpec(
            "low_pressure",
            Severity.MINOR,
            (C("pressure_kpa", "<", "$low_pressure_kpa"),),
            for_s="low_pressure_for_s",
            description="supply pressure low for a while",
        ),
        FaultSpec(
            "freeze_risk",
            Severity.MINOR,
            (C("temp_c", "<", "$freeze_c"),),
            description="pipe close to freezing",
        ),
    ),
    params=MappingProxyType(
        {
            "burst_kpa": 50.0,
            "burst_flow_lpm": 100.0,
            "blockage_cm": 80.0,
            "low_pressure_kpa": 150.0,
            "low_pressure_for_s": 60.0,
            "freeze_c": 2.0,
            "heartbeat_s": 60.0,
            "offline_after_heartbeats": 3.0,
        }
    ),
)

CHARGING_SHED = Profile(
    type="charging_shed",
    description="E-bike / EV charging shed with smoke, temperature, power and breaker sensors",
    metrics=_metrics(
        # A fire heats the shed's sensor to 250-1000 °C; a thermocouple reports up to ~1250 °C.
        Metric("temp_c", N, "°C", -50.0, 1_250.0),
        Metric("smoke", B),
        Metric("power_w", N, "W", 0.0, 2_000_000.0),
        Metric("ports_in_use", N, "", 0.0, 1_000.0),
        Metric("ports_faulted", N, "", 0.0, 1_000.0),
        Metric("breaker_on", B),
    ),
    faults=_faults(
        FaultSpec(
            "smoke", Severity.CRITICAL, (C("smoke", "==", True),), description="smoke detected"
        ),
        FaultSpec(
            "overheat",
            Severity.CRITICAL,
            (C("temp_c", ">", "$overheat_c"),),
            clear_when=(C("temp_c", "<", "$overheat_clear_c"),),
            description="shed temperature high",
        ),
        FaultSpec(
            "overload",
            Severity.MAJOR,
            (C("power_w", ">", "$rated_power_w"),),
            description="power draw above the shed's rating",
        ),
        FaultSpec(
            "breaker_trip",
            Severity.MAJOR,
            (C("breaker_on", "==", False),),
            description="main breaker tripped",
        ),
        FaultSpec(
            "port_fault",
            Severity.MINOR,
            (C("ports_faulted", ">", 0.0),),
            description="one or more charging ports faulted",
        ),
    ),
    params=MappingProxyType(
        {
            "overheat_c": 60.0,
            "overheat_clear_c": 50.0,
            "rated_power_w": 20_000.0,
            "heartbeat_s": 30.0,
            "offline_after_heartbeats": 3.0,
        }
    ),
    offline_severity=Severity.MAJOR,
)

PROFILES: Mapping[str, Profile] = MappingProxyType(
    {p.type: p for p in (CORRIDOR_LIGHT, PIPE, CHARGING_SHED)}
)
DEVICE_TYPES: frozenset[str] = frozenset(PROFILES)


@dataclass(frozen=True, slots=True)
class FaultOverride:
    """Per-type or per-device change to one catalogue entry (site file ``faults:``)."""

    readings: int | None = None
    severity: Severity | None = None
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Overrides:
    """Threshold parameters and fault tweaks layered over a profile's defaults."""

    params: Mapping[str, float] = field(default_factory=dict)
    faults: Mapping[str, FaultOverride] = field(default_factory=dict)


def effective_params(profile: Profile, *layers: Overrides) -> dict[str, float]:
    """The profile's parameters with each override layer applied in order (later wins)."""
    params = dict(profile.params)
    for layer in layers:
        params.update(layer.params)
    return params


def effective_faults(profile: Profile, *layers: Overrides) -> dict[str, FaultSpec]:
    """The profile's catalogue with each layer's per-fault tweaks applied; disabled ones dropped."""
    faults: dict[str, FaultSpec] = dict(profile.faults)
    for layer in layers:
        for code, change in layer.faults.items():
            spec = faults.get(code)
            if spec is None:
                continue
            if not change.enabled:
                del faults[code]
                continue
            faults[code] = FaultSpec(
                code=spec.code,
                severity=change.severity or spec.severity,
                raise_when=spec.raise_when,
                clear_when=spec.clear_when,
                readings=change.readings or spec.readings,
                for_s=spec.for_s,
                description=spec.description,
            )
    return faults
