"""`fm gateway` as its own process, scraped on FM_METRICS_PORT: every message and every bad field
is counted, and the counters add up to what was sent (real Mosquitto, PostgreSQL, InfluxDB)."""

from __future__ import annotations

import json
import math
import os
import random
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.settings import BUNDLED_SITE
from governance.loader import load_site
from storage.relational.db import create_engine, session_factory
from storage.relational.models import WorkOrder
from tests.detection.test_bad_fields import SMOKE_ALARMS
from tests.e2e.helpers import eventually, mosquitto_pub, start_fm
from tests.fm.metrics_text import Samples, parse
from tests.servers.mosquitto import MosquittoServer
from tests.servers.ports import free_port

pytestmark = pytest.mark.integration

STARTUP_S = 30.0
SETTLE_S = 20.0
STOP_S = 20.0
FUZZ_MESSAGES = 300
FUZZ_SEED = 8


@pytest.fixture
async def sessions(postgres_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(postgres_url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def gateway(
    mosquitto: MosquittoServer, postgres_url: str, influxdb_url: str, tmp_path: Path
) -> Iterator[dict[str, Any]]:
    """A running `fm gateway --migrate` with its metrics listener on a free port."""
    env = {
        **os.environ,
        "FM_MQTT_URL": mosquitto.url,
        "FM_DATABASE_URL": postgres_url,
        "FM_TSDB_URL": influxdb_url,
        "FM_DATA_DIR": str(tmp_path / "var"),
        "FM_METRICS_PORT": str(free_port()),
    }
    env.pop("FM_SITE_FILE", None)
    log = tmp_path / "gateway.log"
    process = start_fm("gateway", "--migrate", env=env, log=log)
    try:
        yield {"process": process, "log": log, "url": f"http://127.0.0.1:{env['FM_METRICS_PORT']}"}
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_S)


async def scrape(client: httpx.AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    return parse(response.text)


def labelled(found: Samples, name: str, *label_names: str) -> dict[tuple[str, ...], float]:
    """One family's samples keyed by the values of ``label_names``, in that order."""
    return {
        tuple(dict(labels)[label] for label in label_names): sample
        for (sample_name, labels), sample in found.items()
        if sample_name == name
    }


def adds_up(found: Samples) -> bool:
    """received == accepted + rejected + handler errors, as the gateway's stats promise."""
    rejected = sum(labelled(found, "fm_gateway_messages_rejected_total", "reason").values())
    return found[("fm_gateway_messages_received_total", ())] == (
        found[("fm_gateway_messages_accepted_total", ())]
        + rejected
        + found[("fm_gateway_handler_errors_total", ())]
    )


async def started(gateway: dict[str, Any], client: httpx.AsyncClient) -> None:
    async def up() -> bool:
        assert gateway["process"].poll() is None, gateway["log"].read_text()
        try:
            await client.get("/metrics")
        except httpx.TransportError:
            return False
        return "subscribed to" in gateway["log"].read_text()

    await eventually(up, within=STARTUP_S, interval=0.2, what="the gateway and its metrics")


def stop(gateway: dict[str, Any]) -> None:
    gateway["process"].send_signal(signal.SIGTERM)
    assert gateway["process"].wait(timeout=STOP_S) == 0, gateway["log"].read_text()
    assert "Traceback" not in gateway["log"].read_text()


async def test_each_smoke_alarm_next_to_a_bad_field_opens_its_order_and_counts_the_field(
    gateway: dict[str, Any],
    mosquitto: MosquittoServer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    site = load_site(BUNDLED_SITE)
    sheds = [d.id for d in site.devices.values() if d.type == "charging_shed"]
    alarms = dict(zip(sheds, SMOKE_ALARMS, strict=False))
    async with httpx.AsyncClient(base_url=gateway["url"], timeout=5) as client:
        await started(gateway, client)
        for device_id, (payload, _) in alarms.items():
            mosquitto_pub(port=mosquitto.port, topic=f"fm/{device_id}/telemetry", message=payload)
        mosquitto_pub(port=mosquitto.port, topic=f"fm/{sheds[0]}/telemetry", message="{not json")
        mosquitto_pub(port=mosquitto.port, topic="fm/no-such-shed/telemetry", message="{}")
        sent = len(alarms) + 2

        async def smoke_orders() -> dict[str, WorkOrder] | None:
            async with sessions() as session:
                rows = (await session.scalars(select(WorkOrder))).all()
            smoke = {row.device_id: row for row in rows if row.fault_code == "smoke"}
            return smoke if len(smoke) == len(alarms) else None

        orders = await eventually(smoke_orders, within=SETTLE_S, what="every smoke order")
        assert {o.severity for o in orders.values()} == {"critical"}

        async def counted() -> Samples | None:
            found = await scrape(client)
            return found if found[("fm_gateway_messages_received_total", ())] == sent else None

        found = await eventually(counted, within=SETTLE_S, what="every message counted")

    assert adds_up(found)
    assert found[("fm_gateway_messages_accepted_total", ())] == len(alarms)
    rejected = labelled(found, "fm_gateway_messages_rejected_total", "reason")
    assert {reason: n for (reason,), n in rejected.items() if n} == {
        "bad_json": 1,
        "unknown_device": 1,
    }
    expected_drops = {drop: 1.0 for _, drop in alarms.values() if drop is not None}
    assert labelled(found, "fm_gateway_dropped_metrics_total", "reason", "metric") == expected_drops
    assert len(expected_drops) == len(alarms) - 1  # every bad-field kind, and the fire reading
    open_critical = found[("fm_workorders_open", (("severity", "critical"), ("tier", "grid")))]
    assert open_critical >= len(alarms)  # the fire reading also opens an overheat order
    assert found[("fm_relational_store_up", ())] == 1
    stop(gateway)


def fuzz_payload(rng: random.Random) -> tuple[str, bytes]:
    """One message a broken or hostile client might send: (channel, payload)."""
    values: list[Any] = [0, 21.5, -1e308, 1e308, True, None, "hot", [], {}, math.nan, math.inf]
    names = ["temp_c", "smoke", "current_a", "lamp_on", "pressure_kpa", "humidity", "\x1b[31m"]
    timestamps: list[Any] = [time.time(), 0, time.time() + 10**6, "yesterday", None]
    shape = rng.randrange(6)
    if shape == 0:
        return "telemetry", bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
    if shape == 1:
        return "telemetry", b"{" * 20_000  # oversized
    if shape == 2:
        return "status", rng.choice([b"online", b"offline", b"maybe", b""])
    if shape == 3:
        event = {"code": rng.choice(["smoke", "nonsense", 7]), "active": rng.choice([True, 1])}
        return "event", json.dumps(event).encode()
    metrics = {rng.choice(names): rng.choice(values) for _ in range(rng.randrange(0, 4))}
    body: dict[str, Any] = {"metrics": metrics}
    if rng.random() < 0.5:
        body["ts"] = rng.choice(timestamps)
    if rng.random() < 0.3:
        body["seq"] = rng.choice([1, -5, 10**30, "x"])
    return "telemetry", json.dumps(body).encode()


async def test_a_fuzz_run_adds_up_to_what_was_sent(
    gateway: dict[str, Any], mosquitto: MosquittoServer
) -> None:
    site = load_site(BUNDLED_SITE)
    rng = random.Random(FUZZ_SEED)
    devices = [*list(site.devices)[:5], "ghost-1", "bad!id"]
    async with httpx.AsyncClient(base_url=gateway["url"], timeout=5) as client:
        await started(gateway, client)
        async with aiomqtt.Client(mosquitto.host, mosquitto.port, identifier="fuzzer") as fuzzer:
            for _ in range(FUZZ_MESSAGES):
                channel, payload = fuzz_payload(rng)
                await fuzzer.publish(f"fm/{rng.choice(devices)}/{channel}", payload, qos=1)

        async def counted() -> Samples | None:
            found = await scrape(client)
            done = found[("fm_gateway_messages_received_total", ())] >= FUZZ_MESSAGES
            return found if done else None

        found = await eventually(counted, within=SETTLE_S, what="every fuzz message counted")

    assert found[("fm_gateway_messages_received_total", ())] == FUZZ_MESSAGES
    assert adds_up(found)
    assert found[("fm_gateway_handler_errors_total", ())] == 0
    rejected = labelled(found, "fm_gateway_messages_rejected_total", "reason")
    assert rejected[("oversized",)] > 0 and rejected[("unknown_device",)] > 0
    assert sum(labelled(found, "fm_gateway_dropped_metrics_total", "reason", "metric").values()) > 0
    stop(gateway)
