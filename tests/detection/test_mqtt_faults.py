"""Every fault code of every device type, raised and cleared through a real Mosquitto."""

from __future__ import annotations

import json
import time

import pytest

from core.events import DeviceEvent, EventSource
from gateway.rules import RuleEngine
from sensors.contract import MetricValue
from sensors.profiles import PROFILES
from tests.detection.running import running_gateway, telemetry
from tests.gateway.sites import small_site
from tests.gateway.test_rules import ALL_FAULTS, DEVICE_OF_TYPE, satisfying
from tests.gateway.waiting import until
from tests.servers.mosquitto import MosquittoServer

pytestmark = pytest.mark.integration


def valid(device_type: str, metrics: dict[str, MetricValue]) -> dict[str, MetricValue]:
    """``metrics`` clamped into the profile's valid ranges (the gateway rejects the rest)."""
    specs = PROFILES[device_type].metrics
    out: dict[str, MetricValue] = {}
    for name, value in metrics.items():
        spec = specs[name]
        if not isinstance(value, bool):
            if spec.minimum is not None:
                value = max(value, spec.minimum)
            if spec.maximum is not None:
                value = min(value, spec.maximum)
        out[name] = value
    return out


def _of(events: list[DeviceEvent], device_id: str, code: str) -> list[DeviceEvent]:
    return [e for e in events if e.device_id == device_id and e.code == code]


@pytest.mark.parametrize(("device_type", "code"), ALL_FAULTS)
async def test_a_fault_raises_and_clears_through_mqtt(
    mosquitto: MosquittoServer, device_type: str, code: str
) -> None:
    site = small_site()
    device_id = DEVICE_OF_TYPE[device_type]
    fault = next(f for f in RuleEngine(site).faults_of(device_id) if f.code == code)
    # Explicit device timestamps make readings/for_s exact: the readings needed, spaced so the
    # last one reaches the duration, ending now (the gateway refuses far-off timestamps).
    needed = max(fault.readings, 2 if fault.for_s else 1)
    step = fault.for_s / (needed - 1) if fault.for_s else 1.0
    start = time.time() - step * needed
    async with running_gateway(mosquitto, site) as (gateway, sink):
        for i in range(needed):
            if i == needed - 1:
                assert _of(sink.events, device_id, code) == [], "raised before its readings"
            telemetry(
                mosquitto,
                device_id,
                ts=start + i * step,
                seq=i + 1,
                metrics=valid(device_type, satisfying(fault)),
            )
        await until(lambda: _of(sink.events, device_id, code), f"{code} raised")
        telemetry(
            mosquitto,
            device_id,
            ts=start + needed * step,
            seq=needed + 1,
            metrics=valid(device_type, satisfying(fault, clear=True)),
        )
        await until(lambda: len(_of(sink.events, device_id, code)) == 2, f"{code} cleared")
        raised, cleared = _of(sink.events, device_id, code)
        assert (raised.active, raised.source, raised.severity) == (
            True,
            EventSource.RULE,
            PROFILES[device_type].faults[code].severity,
        )
        assert (cleared.active, cleared.source) == (False, EventSource.RULE)
        assert gateway.stats.accepted == needed + 1


@pytest.mark.parametrize(("device_type", "code"), ALL_FAULTS)
async def test_a_device_reported_fault_raises_and_clears_through_mqtt(
    mosquitto: MosquittoServer, device_type: str, code: str
) -> None:
    device_id = DEVICE_OF_TYPE[device_type]
    async with running_gateway(mosquitto, small_site()) as (_, sink):
        for active in (True, False):
            report = {"ts": time.time(), "code": code, "active": active, "detail": "self-test"}
            mosquitto.publish(f"fm/{device_id}/event", json.dumps(report))
        await until(lambda: len(_of(sink.events, device_id, code)) == 2, f"{code} raised+cleared")
        assert [(e.active, e.source) for e in _of(sink.events, device_id, code)] == [
            (True, EventSource.DEVICE),
            (False, EventSource.DEVICE),
        ]
