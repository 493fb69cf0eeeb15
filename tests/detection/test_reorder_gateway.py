"""The reorder window inside a running gateway (real Mosquitto): late readings slot back in."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from core.clock import ManualClock
from tests.detection.running import running_gateway, telemetry
from tests.gateway.sites import LIGHT, small_site
from tests.gateway.waiting import until
from tests.servers.mosquitto import MosquittoServer

pytestmark = pytest.mark.integration

WINDOW_S = 30.0
DARK = {"lamp_on": True, "current_a": 0.0, "voltage_v": 221.0}
LIT = {"lamp_on": True, "current_a": 0.4, "voltage_v": 221.0}


async def _deliver_out_of_order(
    mosquitto: MosquittoServer, window_s: float
) -> tuple[list[str], int]:
    """dark(t1), lit(t3) arrive first, dark(t2) late: in ts order two dark readings in a row."""
    clock = ManualClock(datetime.now(UTC))
    t = time.time()
    async with running_gateway(mosquitto, small_site(), clock=clock, reorder_window_s=window_s) as (
        gateway,
        sink,
    ):
        telemetry(mosquitto, LIGHT, ts=t - 3, seq=1, metrics=DARK)
        telemetry(mosquitto, LIGHT, ts=t - 1, seq=3, metrics=LIT)
        telemetry(mosquitto, LIGHT, ts=t - 2, seq=2, metrics=DARK)
        telemetry(mosquitto, LIGHT, ts=t - 2, seq=2, metrics=DARK)  # a QoS 1 redelivery
        await until(lambda: gateway.stats.accepted == 4, "four readings")
        if window_s:
            assert sink.events == []  # held for the window
            clock.advance(window_s)
            await until(lambda: len(sink.events) == 2, "the window to close")
        events = [f"{e.code}:{'raised' if e.active else 'cleared'}" for e in sink.events]
        return events, gateway.stats.stale


async def test_a_late_reading_is_evaluated_in_ts_order_within_the_window(
    mosquitto: MosquittoServer,
) -> None:
    events, stale = await _deliver_out_of_order(mosquitto, WINDOW_S)
    assert events == ["lamp_failure:raised", "lamp_failure:cleared"]
    assert stale == 1  # only the duplicate


async def test_without_a_window_the_late_reading_is_dropped_as_stale(
    mosquitto: MosquittoServer,
) -> None:
    assert await _deliver_out_of_order(mosquitto, 0.0) == ([], 2)  # the late one and its copy
