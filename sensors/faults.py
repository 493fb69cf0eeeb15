"""Fault injection: readings that trigger each catalogue fault, and scripted scenarios.

Every fault code of every profile has an overlay that turns a normal reading into one that meets
the fault's raise conditions under the device's effective parameters. Two codes act on the
connection instead of the readings: ``offline`` kills the connection so the broker publishes the
last will, and ``dropout`` keeps the connection but stops sending (the gateway notices silence).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import yaml

from sensors.behaviour import Reading, SimulatedDevice, SimulationError
from sensors.catalogue import OFFLINE
from sensors.profiles import CHARGING_SHED, CORRIDOR_LIGHT, PIPE, PROFILES

DROPOUT = "dropout"
CONNECTION_FAULTS = frozenset({OFFLINE, DROPOUT})
# How far past a threshold an injected reading lands, as a share of the threshold.
OVERSHOOT = 0.5

Overlay = Callable[[Reading, SimulatedDevice], Reading]


class FaultInjectionError(SimulationError):
    """A fault cannot be injected into a device; carries both."""

    def __init__(self, device_id: str, code: str, message: str) -> None:
        super().__init__(f"device {device_id!r}, fault {code!r}: {message}")
        self.device_id = device_id
        self.code = code


def _over(example: float, threshold: float) -> float:
    """The textbook faulty value, or further past the threshold when it has been raised."""
    return max(example, threshold * (1 + OVERSHOOT) + OVERSHOOT)


def _under(example: float, threshold: float) -> float:
    """The textbook faulty value, or further below the threshold when it has been lowered."""
    return min(example, threshold - abs(threshold) * OVERSHOOT - OVERSHOOT)


def _short_circuit(r: Reading, d: SimulatedDevice) -> Reading:
    return {**r, "lamp_on": True, "current_a": _over(12.0, d.param("short_circuit_a"))}


def _lamp_failure(r: Reading, d: SimulatedDevice) -> Reading:
    return {**r, "lamp_on": True, "current_a": 0.0}


def _no_power(r: Reading, d: SimulatedDevice) -> Reading:
    # The controller loses its supply too, so it reports the lamp off rather than failed.
    voltage = max(0.0, _under(0.0, d.param("no_power_v")))
    return {**r, "lamp_on": False, "current_a": 0.0, "voltage_v": voltage}


def _burst(r: Reading, d: SimulatedDevice) -> Reading:
    pressure = max(0.0, _under(20.0, d.param("burst_kpa")))
    return {**r, "pressure_kpa": pressure, "flow_lpm": _over(300.0, d.param("burst_flow_lpm"))}


def _leak(r: Reading, d: SimulatedDevice) -> Reading:
    return {**r, "leak": True}


def _blockage(r: Reading, d: SimulatedDevice) -> Reading:
    return {**r, "level_cm": _over(120.0, d.param("blockage_cm"))}


def _low_pressure(r: Reading, d: SimulatedDevice) -> Reading:
    # Low but above the burst threshold: a weak supply, not a rupture.
    low = _under(100.0, d.param("low_pressure_kpa"))
    return {**r, "pressure_kpa": max(low, d.param("burst_kpa") * (1 + OVERSHOOT))}


def _freeze_risk(r: Reading, d: SimulatedDevice) -> Reading:
    return {**r, "temp_c": _under(-3.0, d.param("freeze_c"))}


def _smoke(r: Reading, d: SimulatedDevice) -> Reading:
    return {**r, "smoke": True}


def _overheat(r: Reading, d: SimulatedDevice) -> Reading:
    return {**r, "temp_c": _over(75.0, d.param("overheat_c"))}


def _overload(r: Reading, d: SimulatedDevice) -> Reading:
    ports = max(0, round(d.param("ports")))
    power = d.param("rated_power_w") * (1 + OVERSHOOT)
    return {**r, "power_w": power, "ports_in_use": ports}


def _breaker_trip(r: Reading, d: SimulatedDevice) -> Reading:
    return {**r, "breaker_on": False, "power_w": 0.0, "ports_in_use": 0}


def _port_fault(r: Reading, d: SimulatedDevice) -> Reading:
    return {**r, "ports_faulted": 2}


OVERLAYS: Mapping[str, Mapping[str, Overlay]] = MappingProxyType(
    {
        CORRIDOR_LIGHT.type: MappingProxyType(
            {
                "short_circuit": _short_circuit,
                "lamp_failure": _lamp_failure,
                "no_power": _no_power,
            }
        ),
        PIPE.type: MappingProxyType(
            {
                "burst": _burst,
                "leak": _leak,
                "blockage": _blockage,
                "low_pressure": _low_pressure,
                "freeze_risk": _freeze_risk,
            }
        ),
        CHARGING_SHED.type: MappingProxyType(
            {
                "smoke": _smoke,
                "overheat": _overheat,
                "overload": _overload,
                "breaker_trip": _breaker_trip,
                "port_fault": _port_fault,
            }
        ),
    }
)


def injectable_codes(device_type: str) -> frozenset[str]:
    """Every code that can be injected into a device of this type."""
    return frozenset(OVERLAYS.get(device_type, {})) | CONNECTION_FAULTS


def check_injectable(device: SimulatedDevice, code: str) -> None:
    """Raise FaultInjectionError unless ``code`` can be injected into ``device``."""
    if code not in injectable_codes(device.type):
        known = ", ".join(sorted(injectable_codes(device.type)))
        raise FaultInjectionError(device.id, code, f"not a fault of {device.type} (known: {known})")


def faulty_reading(device: SimulatedDevice, normal: Reading, codes: Sequence[str]) -> Reading:
    """``normal`` with the overlays of ``codes`` applied in order (connection faults skipped)."""
    reading = normal
    overlays = OVERLAYS[device.type]
    for code in codes:
        if code in CONNECTION_FAULTS:
            continue
        overlay = overlays.get(code)
        if overlay is None:
            check_injectable(device, code)
            continue
        reading = overlay(reading, device)
    return reading


# -- scenarios ----------------------------------------------------------------------------------

SCENARIO_ACTIONS = frozenset({"inject", "recover"})


class ScenarioError(SimulationError):
    """A scenario file is invalid; says which file and which step."""

    def __init__(self, source: str, message: str, step: int | None = None) -> None:
        where = source if step is None else f"{source}, step {step}"
        super().__init__(f"{where}: {message}")
        self.source = source
        self.step = step


@dataclass(frozen=True, slots=True)
class ScenarioStep:
    """At ``at_s`` seconds after the simulator starts, inject or recover a fault on a device.

    ``code`` None on a recover step means every injected fault of the device. ``report`` also
    sends the fault (or its clear) on the device's event topic, as a self-diagnosing device does.
    """

    at_s: float
    action: str
    device_id: str
    code: str | None = None
    report: bool = False


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named, time-ordered script of fault injections."""

    name: str
    steps: tuple[ScenarioStep, ...]

    def validate_for(self, devices: Mapping[str, SimulatedDevice]) -> None:
        """Raise ScenarioError when a step names an unknown device or a code alien to its type."""
        for step in self.steps:
            device = devices.get(step.device_id)
            if device is None:
                raise ScenarioError(
                    self.name, f"at {step.at_s:g} s: unknown device {step.device_id!r}"
                )
            if step.code is not None and step.code not in injectable_codes(device.type):
                known = ", ".join(sorted(injectable_codes(device.type)))
                raise ScenarioError(
                    self.name,
                    f"at {step.at_s:g} s: {step.code!r} is not a fault of {device.type} "
                    f"{device.id} (known: {known})",
                )


def _all_codes() -> frozenset[str]:
    codes: set[str] = set(CONNECTION_FAULTS)
    for profile in PROFILES.values():
        codes |= profile.fault_codes
    return frozenset(codes)


def _parse_step(raw: object, source: str, index: int) -> ScenarioStep:
    if not isinstance(raw, Mapping):
        raise ScenarioError(source, "a step must be a mapping", index)
    unknown = set(raw) - {"at", "action", "device", "code", "report"}
    if unknown:
        raise ScenarioError(source, f"unknown keys {sorted(unknown)}", index)
    at = raw.get("at")
    if isinstance(at, bool) or not isinstance(at, int | float) or at != at:
        raise ScenarioError(source, f"'at' must be a number of seconds, not {at!r}", index)
    if at < 0:
        raise ScenarioError(source, f"'at' must not be negative ({at})", index)
    action = raw.get("action")
    if action not in SCENARIO_ACTIONS:
        raise ScenarioError(source, f"'action' must be inject or recover, not {action!r}", index)
    device_id = raw.get("device")
    if not isinstance(device_id, str) or not device_id:
        raise ScenarioError(source, "'device' must name a device", index)
    code = raw.get("code")
    if code is None and action == "inject":
        raise ScenarioError(source, "an inject step needs a 'code'", index)
    if code is not None and (not isinstance(code, str) or code not in _all_codes()):
        raise ScenarioError(source, f"unknown fault code {code!r}", index)
    report = raw.get("report", False)
    if not isinstance(report, bool):
        raise ScenarioError(source, "'report' must be true or false", index)
    return ScenarioStep(float(at), str(action), device_id, code, report)


def parse_scenario(document: object, *, source: str = "<scenario>") -> Scenario:
    """A Scenario from parsed YAML: ``{name: str, steps: [{at, action, device, code?}, …]}``."""
    if not isinstance(document, Mapping):
        raise ScenarioError(source, "the scenario must be a mapping with 'steps'")
    name = document.get("name", source)
    if not isinstance(name, str):
        raise ScenarioError(source, "'name' must be text")
    raw_steps = document.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ScenarioError(source, "'steps' must be a non-empty list")
    steps = [_parse_step(raw, source, index) for index, raw in enumerate(raw_steps, 1)]
    # Stable sort: steps at the same time keep the file's order.
    return Scenario(name, tuple(sorted(steps, key=lambda step: step.at_s)))


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
        document = yaml.safe_load(text)
    except OSError as exc:
        raise ScenarioError(source, f"cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ScenarioError(source, f"not valid YAML: {exc}") from exc
    return parse_scenario(document, source=source)
