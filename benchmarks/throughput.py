"""Ingestion throughput from a real Mosquitto: raw aiomqtt subscriber vs. the Gateway.

A separate process (benchmarks/publisher.py) floods the broker with pre-encoded QoS 0 telemetry;
each side subscribes like the gateway does (QoS 1, ``fm/+/telemetry``) and the rate is the
messages between the first and the last one received, over that time.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import aiomqtt

from benchmarks.support import NullStore, TimingSink, bench_site, lights
from core.settings import Settings
from gateway.service import Gateway

HOST = "127.0.0.1"
POLL_S = 0.001
TIMEOUT_S = 60.0


def start_publisher(port: int, count: int, devices: list[str]) -> subprocess.Popen[bytes]:
    """The flooding publisher (benchmarks/publisher.py) in its own process."""
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.publisher", str(port), str(count), *devices]
    )


async def raw_subscriber(port: int, count: int) -> float:
    """Messages per second a bare aiomqtt subscriber receives."""
    devices = lights(bench_site())
    async with aiomqtt.Client(HOST, port, identifier="bench-raw") as client:
        await client.subscribe("fm/+/telemetry", qos=1)
        publisher = start_publisher(port, count, devices)
        received, first, last = 0, 0.0, 0.0
        deadline = time.perf_counter() + TIMEOUT_S
        async for _ in client.messages:
            last = time.perf_counter()
            if not received:
                first = last
            received += 1
            if received == count or last > deadline:
                break
        publisher.wait()
    return (received - 1) / (last - first)


async def gateway_ingest(port: int, count: int) -> tuple[float, int, int]:
    """Messages per second the Gateway accepts (decode, validate, liveness, rules, batching).

    Returns the rate, how many were accepted and how many points reached the (null) store.
    """
    site = bench_site()
    store = NullStore()
    settings = Settings(mqtt_url=f"mqtt://{HOST}:{port}", mqtt_client_id="bench-gateway")
    gateway = Gateway(settings=settings, site=site, store=store, sink=TimingSink())
    async with gateway:
        await asyncio.wait_for(gateway.ready(), TIMEOUT_S)
        publisher = start_publisher(port, count, lights(site))
        stats = gateway.stats
        deadline = time.perf_counter() + TIMEOUT_S
        # Polling the gateway's counter adds nothing to its hot path (an Event would).
        while stats.received == 0 and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(POLL_S)
        first_count, first = stats.received, time.perf_counter()
        while stats.received < count and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(POLL_S)
        last = time.perf_counter()
        publisher.wait()
        accepted = stats.accepted
    return (stats.received - first_count) / (last - first), accepted, store.points
