"""A real gateway restart (real Mosquitto, gateway_state on SQLite): nothing re-raised, nothing
pending lost, and devices seen before the restart are still watched for silence after it."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import ManualClock
from gateway.state import SqlStateStore
from sensors.catalogue import OFFLINE
from sensors.profiles import PROFILES
from tests.detection.running import running_gateway, telemetry
from tests.gateway.sites import LIGHT, PIPE, SHED, small_site
from tests.gateway.waiting import until
from tests.servers.mosquitto import MosquittoServer

pytestmark = pytest.mark.integration

LOW_PRESSURE_FOR_S = PROFILES["pipe"].params["low_pressure_for_s"]
SHED_PARAMS = PROFILES["charging_shed"].params
SHED_SILENCE_LIMIT_S = SHED_PARAMS["heartbeat_s"] * SHED_PARAMS["offline_after_heartbeats"]


async def test_state_survives_a_gateway_restart(
    mosquitto: MosquittoServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    site, store = small_site(), SqlStateStore(sessions)
    t0 = time.time() - LOW_PRESSURE_FOR_S
    dark = {"lamp_on": True, "current_a": 0.0, "voltage_v": 221.0}
    async with running_gateway(mosquitto, site, state_store=store) as (gateway, sink):
        telemetry(mosquitto, LIGHT, ts=t0, seq=1, metrics=dark)  # lamp_failure: 1 of 2
        telemetry(mosquitto, PIPE, ts=t0, seq=1, metrics={"pressure_kpa": 120.0})  # timer runs
        telemetry(mosquitto, SHED, ts=t0, seq=1, metrics={"temp_c": 75.0})  # overheat raised
        await until(lambda: gateway.stats.accepted == 3, "three readings")
        assert [(e.device_id, e.code) for e in sink.events] == [(SHED, "overheat")]
    # Clean shutdown saved the state; a new process picks it up.
    async with running_gateway(mosquitto, site, state_store=store) as (gateway, sink):
        telemetry(mosquitto, SHED, ts=t0 + 1, seq=2, metrics={"temp_c": 75.0})
        telemetry(
            mosquitto, PIPE, ts=t0 + LOW_PRESSURE_FOR_S, seq=2, metrics={"pressure_kpa": 120.0}
        )
        telemetry(mosquitto, LIGHT, ts=t0 + 1, seq=2, metrics=dark)
        await until(lambda: gateway.stats.accepted == 3, "three more readings")
        await until(lambda: len(sink.events) == 2, "the two pending conditions completing")
        assert sorted((e.device_id, e.code, e.active) for e in sink.events) == [
            (LIGHT, "lamp_failure", True),
            (PIPE, "low_pressure", True),
        ]  # and no second overheat


async def test_a_device_dying_while_the_gateway_is_down_is_marked_offline_after_restart(
    mosquitto: MosquittoServer, sessions: async_sessionmaker[AsyncSession]
) -> None:
    site, store = small_site(), SqlStateStore(sessions)
    clock = ManualClock(datetime.now(UTC))
    async with running_gateway(mosquitto, site, state_store=store, clock=clock) as (gateway, _):
        telemetry(mosquitto, SHED, metrics={"temp_c": 20.0})
        await until(lambda: gateway.stats.accepted == 1, "the shed's reading")
    clock.advance(SHED_SILENCE_LIMIT_S * 3)  # a long outage of the gateway; the shed died
    async with running_gateway(mosquitto, site, state_store=store, clock=clock) as (gateway, sink):
        # The gateway was away, not the shed: no instant offline flood at start.
        assert gateway.liveness.sweep() == [] and sink.events == []
        clock.advance(SHED_SILENCE_LIMIT_S)
        await until(lambda: sink.events, "the shed marked offline")
        assert [(e.device_id, e.code, e.active) for e in sink.events] == [(SHED, OFFLINE, True)]
