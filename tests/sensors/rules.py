"""A minimal, independent evaluator of the fault catalogue, to judge simulated readings."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from sensors.contract import MetricValue
from sensors.profiles import Condition, FaultSpec, MetricKind, Profile

_OPS: Mapping[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


def holds(
    condition: Condition, reading: Mapping[str, MetricValue], params: Mapping[str, float]
) -> bool:
    """Whether ``metric op value`` is true of this reading, ``$name`` resolved from params."""
    threshold = condition.value
    if isinstance(threshold, str):
        threshold = params[threshold.removeprefix("$")]
    return bool(_OPS[condition.op](reading[condition.metric], threshold))


def all_hold(
    conditions: tuple[Condition, ...],
    reading: Mapping[str, MetricValue],
    params: Mapping[str, float],
) -> bool:
    """Every condition holds."""
    return all(holds(c, reading, params) for c in conditions)


def out_of_range(profile: Profile, reading: Mapping[str, MetricValue]) -> list[str]:
    """Metrics missing, of the wrong JSON type or outside the profile's valid range."""
    problems = [f"missing {name}" for name in profile.metrics if name not in reading]
    for name, value in reading.items():
        metric = profile.metrics.get(name)
        if metric is None:
            problems.append(f"unknown {name}")
        elif metric.kind is MetricKind.BOOL:
            if not isinstance(value, bool):
                problems.append(f"{name}={value!r} is not a bool")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{name}={value!r} is not a number")
        elif (metric.minimum is not None and value < metric.minimum) or (
            metric.maximum is not None and value > metric.maximum
        ):
            problems.append(f"{name}={value} outside [{metric.minimum}, {metric.maximum}]")
    return problems


class FaultTracker:
    """Raise/clear state of every catalogue fault over a stream of readings (debounce included)."""

    def __init__(self, profile: Profile, params: Mapping[str, float]) -> None:
        self._faults: Mapping[str, FaultSpec] = profile.faults
        self._params = params
        self._streak: dict[str, int] = dict.fromkeys(self._faults, 0)
        self._since: dict[str, float | None] = dict.fromkeys(self._faults)
        self.active: set[str] = set()

    def feed(self, reading: Mapping[str, MetricValue], ts: float) -> set[str]:
        """Judge one reading taken at ``ts``; the faults active afterwards."""
        for code, spec in self._faults.items():
            raising = all_hold(spec.raise_when, reading, self._params)
            if code in self.active:
                clears = (
                    all_hold(spec.clear_when, reading, self._params)
                    if spec.clear_when
                    else not raising
                )
                if clears:
                    self.active.discard(code)
            if not raising:
                self._streak[code], self._since[code] = 0, None
                continue
            self._streak[code] += 1
            if self._since[code] is None:
                self._since[code] = ts
            held_s = ts - (self._since[code] or ts)
            needed_s = self._params[spec.for_s] if spec.for_s else 0.0
            if self._streak[code] >= spec.readings and held_s >= needed_s:
                self.active.add(code)
        return set(self.active)
