"""Two `fm gateway --partition I/2` processes on one real Mosquitto: every device's messages are
handled by exactly one of them, and every device's fault becomes exactly one order."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest
from sqlalchemy import func, select

from core.settings import BUNDLED_SITE
from gateway.partition import Partition
from governance.loader import load_site
from storage.relational.db import create_engine, session_factory
from storage.relational.models import WorkOrder
from tests.e2e.helpers import eventually, fm_db_upgrade, start_fm
from tests.servers.ports import free_port

pytestmark = pytest.mark.integration

STARTUP_S = 30.0
LIGHTS = 60
SHORT_CIRCUIT = {"lamp_on": True, "current_a": 12.0, "voltage_v": 220.0}


def received(exposition: str) -> int:
    found = re.search(r"^fm_gateway_messages_received_total (\S+)$", exposition, re.M)
    return int(float(found.group(1))) if found else -1


async def test_each_device_is_handled_by_exactly_one_of_two_gateways(
    mosquitto: Any, postgres_url: str, influxdb_url: str, tmp_path: Path
) -> None:
    site = load_site(BUNDLED_SITE)
    lights = sorted(d for d, device in site.devices.items() if device.type == "corridor_light")
    lights = lights[:LIGHTS]
    base = {
        **os.environ,
        "FM_MQTT_URL": mosquitto.url,
        "FM_DATABASE_URL": postgres_url,
        "FM_TSDB_URL": influxdb_url,
        "FM_DATA_DIR": str(tmp_path / "var"),
    }
    base.pop("FM_SITE_FILE", None)
    await asyncio.to_thread(fm_db_upgrade, base)
    envs = {i: {**base, "FM_METRICS_PORT": str(free_port())} for i in (1, 2)}
    gateways = {
        i: start_fm("gateway", "--partition", f"{i}/2", env=envs[i], log=tmp_path / f"gw{i}.log")
        for i in (1, 2)
    }
    engine = create_engine(postgres_url)
    try:
        async with httpx.AsyncClient() as client:

            async def counts() -> dict[int, int]:
                values = {}
                for i, env in envs.items():
                    assert gateways[i].poll() is None, (tmp_path / f"gw{i}.log").read_text()
                    try:
                        scrape = await client.get(
                            f"http://127.0.0.1:{env['FM_METRICS_PORT']}/metrics"
                        )
                    except httpx.TransportError:
                        return {}
                    values[i] = received(scrape.text)
                return values

            async def both_subscribed() -> bool:
                logs = [(tmp_path / f"gw{i}.log").read_text() for i in (1, 2)]
                return bool(await counts()) and all("subscribed to" in log for log in logs)

            await eventually(both_subscribed, within=STARTUP_S, what="both gateways subscribed")
            async with aiomqtt.Client(mosquitto.host, mosquitto.port, identifier="fleet") as fleet:
                for device_id in lights:
                    payload = json.dumps({"seq": 1, "metrics": SHORT_CIRCUIT})
                    await fleet.publish(f"fm/{device_id}/telemetry", payload, qos=1)

            expected = {i: sum(Partition(i, 2).owns(d) for d in lights) for i in (1, 2)}
            assert all(expected.values())  # both shares have some of the lights

            async def all_received() -> dict[int, int] | None:
                now = await counts()
                return now if sum(now.values()) >= LIGHTS else None

            seen = await eventually(all_received, within=30, what="every message received")
            assert seen == expected  # each message reached exactly its own partition's gateway

            sessions = session_factory(engine)

            async def orders() -> int:
                # Both counts in one statement: orders still committing cannot skew them apart.
                async with sessions() as session:
                    total, distinct = (
                        await session.execute(
                            select(
                                func.count(), func.count(func.distinct(WorkOrder.device_id))
                            ).where(WorkOrder.fault_code == "short_circuit")
                        )
                    ).one()
                assert total == distinct  # never two orders for one device
                return int(total) if total == LIGHTS else 0

            await eventually(orders, within=30, what="one order per light")
    finally:
        await engine.dispose()
        for process in gateways.values():
            process.send_signal(signal.SIGTERM)
        for i, process in gateways.items():
            assert process.wait(timeout=20) == 0, (tmp_path / f"gw{i}.log").read_text()
