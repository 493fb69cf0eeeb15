"""Fault rules: the catalogue of every device type, evaluated per device over its readings.

Each device gets its effective catalogue (profile defaults, then the type's and the device's
site-file overrides) compiled once: ``$param`` thresholds resolved to numbers, operators to
functions. Per reading, each fault's raise (all-of) condition is counted over consecutive readings
(``readings``) and timed (``for_s``); a raised fault clears when ``clear_when`` holds (hysteresis)
or, without one, as soon as the raise condition stops holding. Only transitions become events.

A fault has one state per (device, code), whoever changed it: a device-reported raise is cleared
by a later reading that no longer matches, and a rule never raises what the device already raised.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from core.clock import from_epoch
from core.events import DeviceEvent, EventSource
from gateway.decode import DeviceReport, Reading
from gateway.errors import SiteConfigError
from gateway.ordering import SequenceRule, SeqVerdict
from governance.model import Site
from sensors.catalogue import Severity
from sensors.contract import MetricValue
from sensors.profiles import PROFILES, Condition, FaultSpec, effective_faults, effective_params

_OPERATORS: Mapping[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
_NO_EVENTS: tuple[DeviceEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class _Check:
    """One condition with its threshold resolved."""

    metric: str
    op_symbol: str
    test: Callable[[Any, Any], bool]
    threshold: float | bool


@dataclass(frozen=True, slots=True)
class CompiledFault:
    """A catalogue entry ready to evaluate for one device."""

    code: str
    severity: Severity
    raise_when: tuple[_Check, ...]
    clear_when: tuple[_Check, ...]  # empty: clears when raise_when stops holding
    readings: int
    for_s: float | None


class _FaultState:
    """Where one fault of one device stands: raised, and how long its condition has matched."""

    __slots__ = ("active", "count", "since")

    def __init__(self) -> None:
        self.active = False
        self.count = 0  # consecutive matching readings while not raised
        self.since: float | None = None  # ts of the first of those readings

    def reset(self, *, active: bool) -> None:
        self.active = active
        self.count = 0
        self.since = None


class _DeviceRules:
    """The compiled catalogue and rule state of one device."""

    __slots__ = ("device_id", "faults", "index", "last_seq", "last_ts", "states")

    def __init__(self, device_id: str, faults: tuple[CompiledFault, ...]) -> None:
        self.device_id = device_id
        self.faults = faults
        self.states = [_FaultState() for _ in faults]
        self.index = {fault.code: i for i, fault in enumerate(faults)}
        self.last_ts: float | None = None
        self.last_seq: int | None = None


def _resolve(condition: Condition, params: Mapping[str, float], device_id: str) -> _Check:
    value = condition.value
    if isinstance(value, str):
        if not value.startswith("$"):
            raise SiteConfigError(
                f"condition on {condition.metric} has a non-numeric value {value!r}",
                device_id=device_id,
            )
        name = value[1:]
        if name not in params:
            raise SiteConfigError(f"rule parameter {name!r} is not defined", device_id=device_id)
        value = params[name]
    return _Check(condition.metric, condition.op, _OPERATORS[condition.op], value)


def compile_faults(
    faults: Mapping[str, FaultSpec], params: Mapping[str, float], *, device_id: str
) -> tuple[CompiledFault, ...]:
    """Resolve a device's effective catalogue against its effective parameters."""
    compiled = []
    for spec in faults.values():
        for_s: float | None = None
        if spec.for_s is not None:
            if spec.for_s not in params:
                raise SiteConfigError(
                    f"duration parameter {spec.for_s!r} is not defined", device_id=device_id
                )
            for_s = params[spec.for_s]
        compiled.append(
            CompiledFault(
                code=spec.code,
                severity=spec.severity,
                raise_when=tuple(_resolve(c, params, device_id) for c in spec.raise_when),
                clear_when=tuple(_resolve(c, params, device_id) for c in spec.clear_when),
                readings=max(spec.readings, 1),
                for_s=for_s,
            )
        )
    return tuple(compiled)


def _holds(checks: tuple[_Check, ...], metrics: Mapping[str, MetricValue]) -> bool | None:
    """All conditions hold (True), one does not (False), or a needed metric is missing (None)."""
    result = True
    for check in checks:
        value = metrics.get(check.metric)
        if value is None:
            return None
        if result and not check.test(value, check.threshold):
            result = False
    return result


def _describe(checks: tuple[_Check, ...], metrics: Mapping[str, MetricValue]) -> str:
    parts = (f"{c.metric}={metrics.get(c.metric)} ({c.op_symbol} {c.threshold})" for c in checks)
    return ", ".join(parts)


class RuleEngine:
    """Fault state of every device of a site; feed it readings and device reports."""

    __slots__ = ("_devices", "_sequence", "seq_resets")

    def __init__(self, site: Site, *, sequence: SequenceRule | None = None) -> None:
        self._sequence = SequenceRule.defaults() if sequence is None else sequence
        self.seq_resets = 0  # readings whose seq started a new sequence (gateway/ordering.py)
        devices: dict[str, _DeviceRules] = {}
        for device_id, device in site.devices.items():
            profile = PROFILES.get(device.type)
            if profile is None:
                raise SiteConfigError(f"unknown device type {device.type!r}", device_id=device_id)
            layers = site.overrides_for(device_id)
            faults = compile_faults(
                effective_faults(profile, *layers),
                effective_params(profile, *layers),
                device_id=device_id,
            )
            devices[device_id] = _DeviceRules(device_id, faults)
        self._devices = devices

    def faults_of(self, device_id: str) -> tuple[CompiledFault, ...]:
        """The compiled catalogue of one device (KeyError if unknown)."""
        return self._devices[device_id].faults

    def active_faults(self, device_id: str) -> frozenset[str]:
        """Codes currently raised on a device."""
        rules = self._devices[device_id]
        pairs = zip(rules.faults, rules.states, strict=True)
        return frozenset(fault.code for fault, state in pairs if state.active)

    def on_reading(self, reading: Reading) -> tuple[DeviceEvent, ...] | None:
        """Evaluate one reading: the transitions it causes, or None when it is stale (ignored)."""
        rules = self._devices[reading.device_id]
        ts = reading.ts
        if rules.last_ts is not None and ts < rules.last_ts:
            return None
        seq = reading.seq
        if seq is not None:
            verdict = self._sequence.judge(rules.last_seq, seq)
            if verdict is SeqVerdict.STALE:
                return None
            if verdict is SeqVerdict.RESET:
                self.seq_resets += 1
            rules.last_seq = seq
        rules.last_ts = ts
        metrics = reading.metrics
        events: list[DeviceEvent] | None = None
        for fault, state in zip(rules.faults, rules.states, strict=True):
            if state.active:
                if fault.clear_when:
                    clears = _holds(fault.clear_when, metrics)
                else:
                    still = _holds(fault.raise_when, metrics)
                    clears = None if still is None else not still
                if not clears:  # None (metric missing) or False both keep it raised
                    continue
                state.reset(active=False)
                checks = fault.clear_when or fault.raise_when
                detail = "cleared: " + _describe(checks, metrics)
            else:
                matches = _holds(fault.raise_when, metrics)
                if matches is None:
                    continue
                if not matches:
                    state.count = 0
                    state.since = None
                    continue
                state.count += 1
                if state.since is None:
                    state.since = ts
                if state.count < fault.readings:
                    continue
                if fault.for_s is not None and ts - state.since < fault.for_s:
                    continue
                state.reset(active=True)
                detail = _describe(fault.raise_when, metrics)
            event = DeviceEvent(
                device_id=rules.device_id,
                code=fault.code,
                active=state.active,
                severity=fault.severity,
                ts=from_epoch(ts),
                source=EventSource.RULE,
                detail=detail,
            )
            if events is None:
                events = [event]
            else:
                events.append(event)
        return _NO_EVENTS if events is None else tuple(events)

    def on_report(self, report: DeviceReport) -> DeviceEvent | None:
        """A device raised or cleared a fault itself: the event, or None if nothing changed."""
        rules = self._devices[report.device_id]
        index = rules.index.get(report.code)
        if index is None:  # the site disabled this fault for this device
            return None
        state = rules.states[index]
        if state.active is report.active:
            return None
        state.reset(active=report.active)
        return DeviceEvent(
            device_id=report.device_id,
            code=report.code,
            active=report.active,
            severity=rules.faults[index].severity,
            ts=from_epoch(report.ts),
            source=EventSource.DEVICE,
            detail=report.detail,
        )

    def on_online(self, device_id: str) -> None:
        """The device (re)started: its sequence numbers may begin again from zero."""
        self._devices[device_id].last_seq = None

    # Persistence -------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Rule state as plain data (JSON-serialisable); only devices with state are included."""
        out: dict[str, dict[str, Any]] = {}
        for device_id, rules in self._devices.items():
            faults = {
                fault.code: {"active": s.active, "count": s.count, "since": s.since}
                for fault, s in zip(rules.faults, rules.states, strict=True)
                if s.active or s.count
            }
            if faults or rules.last_ts is not None or rules.last_seq is not None:
                out[device_id] = {
                    "last_ts": rules.last_ts,
                    "last_seq": rules.last_seq,
                    "faults": faults,
                }
        return out

    def adopt_open(self, open_faults: Mapping[str, Collection[str]]) -> int:
        """Mark raised the faults committed as open (device → codes); how many were not."""
        adopted = 0
        for device_id, codes in open_faults.items():
            rules = self._devices.get(device_id)
            if rules is None:
                continue
            for code in codes:
                index = rules.index.get(code)
                if index is not None and not rules.states[index].active:
                    rules.states[index].reset(active=True)
                    adopted += 1
        return adopted

    def restore(self, snapshot: Mapping[str, Mapping[str, Any]]) -> None:
        """Load a ``snapshot()``; devices and codes the site no longer has are ignored."""
        for device_id, saved in snapshot.items():
            rules = self._devices.get(device_id)
            if rules is None:
                continue
            last_ts, last_seq = saved.get("last_ts"), saved.get("last_seq")
            rules.last_ts = None if last_ts is None else float(last_ts)
            rules.last_seq = None if last_seq is None else int(last_seq)
            for state in rules.states:
                state.reset(active=False)
            for code, fault_state in saved.get("faults", {}).items():
                index = rules.index.get(code)
                if index is None:
                    continue
                state = rules.states[index]
                state.active = bool(fault_state.get("active", False))
                state.count = int(fault_state.get("count", 0))
                since = fault_state.get("since")
                state.since = None if since is None else float(since)
