"""MQTT contract boundary: (topic, payload, receive time) → a validated message or a Rejection.

Everything a device sends is checked here and nowhere else. The *message* is rejected as a whole
when it cannot be trusted at all: the topic names no known device or channel, the payload exceeds
``max_payload_bytes`` (checked before parsing), the JSON is not an object of the right shape, or
the timestamp is far from the receive time. Each *metric* of a reading is then judged on its own:
one unknown, null, mistyped (a bool is never a number, although Python's ``bool`` is an ``int``),
non-finite or out-of-range metric is dropped with its reason and the valid ones go on, so one bad
field never hides a smoke alarm. A reading left with no valid metric is rejected. Validators are
compiled once per device type so the per-message path is a few dict lookups and one ``json`` parse.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from core.settings import Settings
from gateway.errors import SiteConfigError
from gateway.logsafe import excerpt
from governance.model import Site
from sensors.contract import (
    DEVICE_ID_PATTERN,
    STATUS_OFFLINE,
    STATUS_ONLINE,
    Channel,
    MetricValue,
)
from sensors.profiles import PROFILES, MetricKind, Profile

#: The metric label of a dropped unknown metric: names are client text, and counting each one
#: under its own name would let any client grow the counters (and /metrics labels) without bound.
UNKNOWN_METRIC_LABEL = "(unknown)"

# An unbounded range still refuses ±inf: no finite float compares above this.
_FLOAT_MAX = sys.float_info.max

_STATUS_ONLINE = STATUS_ONLINE.encode()
_STATUS_OFFLINE = STATUS_OFFLINE.encode()
_CHANNELS = frozenset(Channel)


class RejectReason(StrEnum):
    """Why a message was refused; one counter per reason."""

    BAD_TOPIC = "bad_topic"
    UNKNOWN_DEVICE = "unknown_device"
    OVERSIZED = "oversized"
    BAD_JSON = "bad_json"
    BAD_SCHEMA = "bad_schema"
    NO_VALID_METRICS = "no_valid_metrics"
    NON_FINITE = "non_finite"
    BAD_TIMESTAMP = "bad_timestamp"
    CLOCK_SKEW = "clock_skew"
    UNKNOWN_FAULT_CODE = "unknown_fault_code"
    BAD_STATUS = "bad_status"


class MetricReason(StrEnum):
    """Why one metric of a reading was dropped; one counter per (reason, metric)."""

    UNKNOWN_METRIC = "unknown_metric"
    NULL = "null"
    WRONG_TYPE = "wrong_type"
    NON_FINITE = "non_finite"
    OUT_OF_RANGE = "out_of_range"


@dataclass(frozen=True, slots=True)
class MetricDrop:
    """One metric dropped from a reading; ``metric`` is ``UNKNOWN_METRIC_LABEL`` if unknown."""

    reason: MetricReason
    metric: str
    detail: str


_NO_DROPS: tuple[MetricDrop, ...] = ()


@dataclass(frozen=True, slots=True)
class Rejection:
    """A message the gateway refused; ``device_id`` is None when the topic named none."""

    reason: RejectReason
    device_id: str | None
    detail: str
    dropped: tuple[MetricDrop, ...] = _NO_DROPS  # why each metric failed (``no_valid_metrics``)


@dataclass(frozen=True, slots=True)
class Reading:
    """A validated telemetry message; ``ts`` in epoch seconds (receive time if none was sent).

    ``metrics`` holds only the valid metrics; ``dropped`` says why each of the others was dropped.
    """

    device_id: str
    ts: float
    seq: int | None
    metrics: Mapping[str, MetricValue]
    dropped: tuple[MetricDrop, ...] = _NO_DROPS


@dataclass(frozen=True, slots=True)
class DeviceReport:
    """A validated device-reported fault raise or clear."""

    device_id: str
    ts: float
    code: str
    active: bool
    detail: str


@dataclass(frozen=True, slots=True)
class StatusReport:
    """A birth (``online``) or last will (``offline``) on the retained status topic."""

    device_id: str
    ts: float
    online: bool


Decoded = Reading | DeviceReport | StatusReport


# ``NaN`` / ``Infinity`` / ``-Infinity`` (not JSON, but common from devices) parse to the float they
# name, so the metric holding one is dropped as non-finite instead of losing the whole message.
# One decoder for the process: json.loads(..., parse_constant=...) would build one per call.
_JSON = json.JSONDecoder(parse_constant=float)


@dataclass(frozen=True, slots=True)
class _MetricCheck:
    is_bool: bool
    minimum: float
    maximum: float


@dataclass(frozen=True, slots=True)
class _TypeSchema:
    """Everything needed to validate messages of one device type."""

    metrics: Mapping[str, _MetricCheck]
    fault_codes: frozenset[str]


def _compile_profile(profile: Profile) -> _TypeSchema:
    checks = {
        name: _MetricCheck(
            is_bool=metric.kind is MetricKind.BOOL,
            minimum=-_FLOAT_MAX if metric.minimum is None else metric.minimum,
            maximum=_FLOAT_MAX if metric.maximum is None else metric.maximum,
        )
        for name, metric in profile.metrics.items()
    }
    # ``offline`` belongs to liveness (status topic, silence), not to a device's own event topic.
    return _TypeSchema(metrics=checks, fault_codes=frozenset(profile.faults))


_quote = excerpt


def _judge(name: str, value: object, check: _MetricCheck | None) -> MetricDrop:
    """Why ``value`` is not a valid ``name`` (called only once the fast path refused it)."""
    if check is None:
        return MetricDrop(
            MetricReason.UNKNOWN_METRIC, UNKNOWN_METRIC_LABEL, f"unknown metric {_quote(name)!r}"
        )
    kind = type(value)
    if value is None:
        return MetricDrop(MetricReason.NULL, name, f"metric {name!r} is null")
    if check.is_bool or (kind is not int and kind is not float):
        expected = "true/false" if check.is_bool else "a number"
        return MetricDrop(MetricReason.WRONG_TYPE, name, f"metric {name!r} must be {expected}")
    if kind is float and not math.isfinite(value):  # type: ignore[arg-type]
        return MetricDrop(MetricReason.NON_FINITE, name, f"metric {name!r} is {value}")
    shown = _quote(str(value))
    return MetricDrop(
        MetricReason.OUT_OF_RANGE,
        name,
        f"metric {name!r}={shown} outside [{check.minimum}, {check.maximum}]",
    )


class _Invalid(Exception):
    """Internal: carries a rejection out of the nested validation helpers."""

    def __init__(
        self, reason: RejectReason, detail: str, dropped: tuple[MetricDrop, ...] = _NO_DROPS
    ) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.dropped = dropped


class Decoder:
    """Validates the device traffic of one site; build once, call ``decode`` per message."""

    __slots__ = ("_backdate_s", "_devices", "_max_bytes", "_prefix", "_skew_s")

    def __init__(
        self,
        *,
        site: Site,
        prefix: str,
        max_payload_bytes: int,
        max_clock_skew_s: float,
        max_backdate_s: float,
    ) -> None:
        by_type = {name: _compile_profile(profile) for name, profile in PROFILES.items()}
        devices: dict[str, _TypeSchema] = {}
        for device_id, device in site.devices.items():
            schema = by_type.get(device.type)
            if schema is None:
                raise SiteConfigError(f"unknown device type {device.type!r}", device_id=device_id)
            devices[device_id] = schema
        self._devices = devices
        self._prefix = prefix
        self._max_bytes = max_payload_bytes
        self._skew_s = max_clock_skew_s
        self._backdate_s = max_backdate_s

    @classmethod
    def from_settings(cls, settings: Settings, site: Site) -> Decoder:
        """A decoder with the contract limits of ``settings``."""
        return cls(
            site=site,
            prefix=settings.mqtt_prefix,
            max_payload_bytes=settings.max_payload_bytes,
            max_clock_skew_s=settings.max_clock_skew_s,
            max_backdate_s=settings.max_backdate_s,
        )

    def decode(self, topic: str, payload: bytes, received: float) -> Decoded | Rejection:
        """Validate one message received at ``received`` (epoch seconds)."""
        parts = topic.split("/")
        if len(parts) != 3 or parts[0] != self._prefix:
            return Rejection(RejectReason.BAD_TOPIC, None, _quote(topic))
        device_id, channel = parts[1], parts[2]
        schema = self._devices.get(device_id)
        if schema is None:
            if DEVICE_ID_PATTERN.fullmatch(device_id) and channel in _CHANNELS:
                return Rejection(RejectReason.UNKNOWN_DEVICE, device_id, _quote(topic))
            return Rejection(RejectReason.BAD_TOPIC, None, _quote(topic))
        if len(payload) > self._max_bytes:
            return Rejection(
                RejectReason.OVERSIZED,
                device_id,
                f"{len(payload)} bytes > limit {self._max_bytes}",
            )
        try:
            if channel == Channel.TELEMETRY:
                return self._telemetry(device_id, schema, payload, received)
            if channel == Channel.EVENT:
                return self._event(device_id, schema, payload, received)
            if channel == Channel.STATUS:
                return self._status(device_id, payload, received)
        except _Invalid as invalid:
            return Rejection(invalid.reason, device_id, invalid.detail, invalid.dropped)
        return Rejection(RejectReason.BAD_TOPIC, device_id, _quote(topic))

    # Channels ----------------------------------------------------------------------------------

    def _telemetry(
        self, device_id: str, schema: _TypeSchema, payload: bytes, received: float
    ) -> Reading:
        body = _parse_object(payload)
        metrics = body.get("metrics")
        if type(metrics) is not dict or not metrics:
            raise _Invalid(RejectReason.BAD_SCHEMA, '"metrics" must be a non-empty object')
        seq = body.get("seq")
        if seq is not None and (type(seq) is not int or seq < 0):
            raise _Invalid(RejectReason.BAD_SCHEMA, '"seq" must be a non-negative integer')
        ts = self._timestamp(body.get("ts"), received)
        checks = schema.metrics
        dropped: list[MetricDrop] | None = None
        bad_names: list[str] = []
        for name, value in metrics.items():
            check = checks.get(name)
            if check is not None:
                kind = type(value)
                if check.is_bool:
                    if kind is bool:
                        continue
                # ``kind is int`` excludes bool; NaN fails both comparisons, ±inf one of them.
                elif (kind is float or kind is int) and check.minimum <= value <= check.maximum:
                    continue
            drop = _judge(name, value, check)
            if dropped is None:
                dropped = [drop]
            else:
                dropped.append(drop)
            bad_names.append(name)
        # The parsed dict is ours alone: keep it (minus the bad metrics) instead of copying.
        if dropped is None:
            return Reading(device_id=device_id, ts=ts, seq=seq, metrics=metrics)
        for name in bad_names:
            del metrics[name]
        if not metrics:
            detail = "; ".join(drop.detail for drop in dropped)
            raise _Invalid(RejectReason.NO_VALID_METRICS, _quote(detail), tuple(dropped))
        return Reading(device_id=device_id, ts=ts, seq=seq, metrics=metrics, dropped=tuple(dropped))

    def _event(
        self, device_id: str, schema: _TypeSchema, payload: bytes, received: float
    ) -> DeviceReport:
        body = _parse_object(payload)
        code = body.get("code")
        if type(code) is not str:
            raise _Invalid(RejectReason.BAD_SCHEMA, '"code" must be a string')
        if code not in schema.fault_codes:
            raise _Invalid(RejectReason.UNKNOWN_FAULT_CODE, f"unknown fault code {_quote(code)!r}")
        active = body.get("active")
        if type(active) is not bool:
            raise _Invalid(RejectReason.BAD_SCHEMA, '"active" must be true/false')
        detail = body.get("detail", "")
        if type(detail) is not str:
            raise _Invalid(RejectReason.BAD_SCHEMA, '"detail" must be a string')
        ts = self._timestamp(body.get("ts"), received)
        return DeviceReport(device_id=device_id, ts=ts, code=code, active=active, detail=detail)

    @staticmethod
    def _status(device_id: str, payload: bytes, received: float) -> StatusReport:
        if payload == _STATUS_ONLINE:
            return StatusReport(device_id=device_id, ts=received, online=True)
        if payload == _STATUS_OFFLINE:
            return StatusReport(device_id=device_id, ts=received, online=False)
        shown = _quote(payload.decode("utf-8", errors="replace"))
        raise _Invalid(RejectReason.BAD_STATUS, f"status must be online/offline, not {shown!r}")

    # Fields ------------------------------------------------------------------------------------

    def _timestamp(self, raw: object, received: float) -> float:
        """Epoch seconds of a ``ts`` field; receive time when absent."""
        if raw is None:
            return received
        kind = type(raw)
        if kind is float or kind is int:
            ts = float(raw)  # type: ignore[arg-type]
            if not math.isfinite(ts):
                raise _Invalid(RejectReason.NON_FINITE, f'"ts" is {ts}')
        elif kind is str:
            ts = _parse_rfc3339(raw)  # type: ignore[arg-type]
        else:
            raise _Invalid(RejectReason.BAD_SCHEMA, '"ts" must be epoch seconds or RFC 3339 text')
        if ts - received > self._skew_s:
            raise _Invalid(
                RejectReason.CLOCK_SKEW,
                f"ts is {ts - received:.0f}s in the future (limit {self._skew_s:.0f}s)",
            )
        if received - ts > self._backdate_s:
            raise _Invalid(
                RejectReason.CLOCK_SKEW,
                f"ts is {received - ts:.0f}s in the past (limit {self._backdate_s:.0f}s)",
            )
        return ts


def _parse_object(payload: bytes) -> dict[str, Any]:
    try:
        body = _JSON.decode(payload.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise _Invalid(RejectReason.BAD_JSON, _quote(str(exc))) from exc
    if type(body) is not dict:
        raise _Invalid(RejectReason.BAD_SCHEMA, "payload must be a JSON object")
    return body


def _parse_rfc3339(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        detail = f'"ts" {_quote(text)!r} is not RFC 3339'
        raise _Invalid(RejectReason.BAD_TIMESTAMP, detail) from exc
    if moment.tzinfo is None:
        raise _Invalid(RejectReason.BAD_TIMESTAMP, f'"ts" {_quote(text)!r} has no time zone')
    return moment.timestamp()
