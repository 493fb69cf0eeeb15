"""Latency through a real Mosquitto: MQTT baseline, message → device event (→ order), silence →
offline. Everything runs in one event loop, so the baseline and the gateway pay the same costs."""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

import aiomqtt

from alerts.intake import EventIntake
from benchmarks.support import NullStore, TimingSink, bench_site, lights, summary_ms
from core.settings import Settings
from gateway.service import Gateway
from sensors.profiles import PROFILES
from storage.relational.db import create_engine, session_factory
from storage.relational.migrate import upgrade_database

HOST = "127.0.0.1"
TIMEOUT_S = 10.0
SHORT = {"lamp_on": True, "current_a": 12.0, "voltage_v": 221.0}
HEALTHY = {"lamp_on": True, "current_a": 0.4, "voltage_v": 221.0}
# Liveness run: lights heartbeat this fast (a site override), so silence shows in seconds.
FAST_HEARTBEAT_S = 0.5
SILENT_DEVICES = 40


async def mqtt_baseline(port: int, samples: int) -> list[float]:
    """Publish → subscriber receive on the same broker, one message at a time (QoS 0)."""
    latencies: list[float] = []
    async with (
        aiomqtt.Client(HOST, port, identifier="bench-sub") as sub,
        aiomqtt.Client(HOST, port, identifier="bench-pub") as pub,
    ):
        await sub.subscribe("bench/#", qos=1)
        iterator = sub.messages.__aiter__()
        for i in range(samples):
            sent = time.perf_counter()
            await pub.publish("bench/x", json.dumps({"seq": i, "metrics": HEALTHY}), qos=0)
            await asyncio.wait_for(iterator.__anext__(), TIMEOUT_S)
            latencies.append(time.perf_counter() - sent)
    return latencies


def _settings(port: int, **changes: object) -> Settings:
    return Settings(mqtt_url=f"mqtt://{HOST}:{port}", **changes)  # type: ignore[arg-type]


async def fault_to_event(port: int, samples: int, *, with_alerts: bool) -> list[float]:
    """A short-circuit (then healthy) reading → the raise (then clear) event at the sink; with
    alerts, → its order committed by the EventIntake (the production sink) on SQLite."""
    async with AsyncExitStack() as stack:
        inner: EventIntake | None = None
        if with_alerts:
            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="fm-bench-db-"))
            url = f"sqlite+aiosqlite:///{Path(directory) / 'fm.sqlite3'}"
            await upgrade_database(url)
            engine = create_engine(url)
            stack.push_async_callback(engine.dispose)
            intake = EventIntake(
                sessions=session_factory(engine), site=bench_site(), settings=Settings()
            )
            inner = await stack.enter_async_context(intake)
        return await _time_faults(port, samples, TimingSink(inner))


async def _time_faults(port: int, samples: int, sink: TimingSink) -> list[float]:
    site = bench_site()
    device = lights(site)[0]
    latencies: list[float] = []
    gateway = Gateway(settings=_settings(port), site=site, store=NullStore(), sink=sink)
    async with gateway, aiomqtt.Client(HOST, port, identifier="bench-device") as device_client:
        await asyncio.wait_for(gateway.ready(), TIMEOUT_S)
        for i in range(samples):
            metrics = SHORT if i % 2 == 0 else HEALTHY
            payload = json.dumps({"ts": time.time(), "seq": i, "metrics": metrics})
            sink.arrived.clear()
            sent = time.perf_counter()
            await device_client.publish(f"fm/{device}/telemetry", payload, qos=0)
            await asyncio.wait_for(sink.arrived.wait(), TIMEOUT_S)
            latencies.append(sink.times[-1][0] - sent)
    return latencies


async def silence_to_offline(port: int) -> tuple[list[float], float, float]:
    """Devices speak once, then fall silent: time past their silence limit until ``offline``.

    Returns the delays beyond the limit, the limit and the sweep interval in force.
    """
    site = bench_site(light_heartbeat_s=FAST_HEARTBEAT_S)
    settings = _settings(port)
    limit = FAST_HEARTBEAT_S * PROFILES["corridor_light"].params["offline_after_heartbeats"]
    devices = lights(site)[:SILENT_DEVICES]
    sink = TimingSink()
    last_sent: dict[str, float] = {}
    gateway = Gateway(settings=settings, site=site, store=NullStore(), sink=sink)
    async with gateway, aiomqtt.Client(HOST, port, identifier="bench-devices") as client:
        await asyncio.wait_for(gateway.ready(), TIMEOUT_S)
        # Spread the last messages evenly over one sweep interval: every phase of the sweep.
        gap = settings.liveness_sweep_interval_s / len(devices)
        for device in devices:
            await asyncio.sleep(gap)
            last_sent[device] = time.perf_counter()
            await client.publish(f"fm/{device}/telemetry", json.dumps({"metrics": HEALTHY}), qos=0)
        deadline = time.perf_counter() + limit + settings.liveness_sweep_interval_s * 2 + TIMEOUT_S
        while len(sink.times) < len(devices) and time.perf_counter() < deadline:
            sink.arrived.clear()
            await asyncio.wait_for(sink.arrived.wait(), TIMEOUT_S)
    delays = [at - last_sent[event.device_id] - limit for at, event in sink.times]  # type: ignore[union-attr]
    return delays, limit, settings.liveness_sweep_interval_s


def describe(name: str, seconds: list[float]) -> str:
    """One result line."""
    s = summary_ms(seconds)
    figures = "  ".join(f"{q} {value:7.2f} ms" for q, value in s.items())
    return f"  {name:<44} n={len(seconds):>4}  {figures}"
