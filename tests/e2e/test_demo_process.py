"""`fm demo` as a user runs it: a real process, its embedded broker, mosquitto_pub, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.settings import BUNDLED_SITE
from governance.loader import load_site
from tests.e2e.helpers import eventually, mosquitto_pub, start_fm
from tests.fm.metrics_text import parse
from tests.servers.ports import free_port

pytestmark = pytest.mark.integration

TOKEN = "demo-process-token-0123456789"
STARTUP_S = 40.0
SHUTDOWN_S = 20.0


@dataclass
class Demo:
    """A running `fm demo` process."""

    process: subprocess.Popen[str]
    http_port: int
    mqtt_port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    http_port, mqtt_port = free_port(), free_port()
    env = {
        **os.environ,
        "FM_HTTP_PORT": str(http_port),
        "FM_MQTT_PORT": str(mqtt_port),
        "FM_DATA_DIR": str(tmp_path / "var"),
        "FM_ADMIN_TOKEN": TOKEN,
        "FM_SIMULATE": "true",
    }
    env.pop("FM_MQTT_URL", None)
    log = tmp_path / "demo.log"
    process = start_fm("demo", env=env, log=log)
    try:
        yield Demo(process, http_port, mqtt_port, log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=SHUTDOWN_S)


async def test_demo_opens_an_order_from_mosquitto_pub_and_stops_cleanly_on_ctrl_c(
    demo: Demo,
) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    site = load_site(BUNDLED_SITE)
    device_id = next(d.id for d in site.devices.values() if d.type == "corridor_light")
    route = site.route(device_id)

    async with httpx.AsyncClient(base_url=demo.base_url, headers=headers, timeout=5) as client:

        async def ready() -> bool:
            assert demo.process.poll() is None, demo.log.read_text()
            try:
                return (await client.get("/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(ready, within=STARTUP_S, interval=0.2, what="the demo to be ready")
        banner = demo.log.read_text()
        assert "admin token" in banner
        assert TOKEN not in banner, "a token the operator supplied must not be echoed"

        # QoS 0, exactly the README command (no -q): the embedded broker must not lose it.
        fault = json.dumps({"metrics": {"lamp_on": True, "current_a": 12, "voltage_v": 220}})
        mosquitto_pub(port=demo.mqtt_port, topic=f"fm/{device_id}/telemetry", message=fault, qos=0)

        async def orders() -> list[dict[str, Any]] | None:
            response = await client.get("/api/v1/workorders", params={"device_id": device_id})
            found: list[dict[str, Any]] = response.json()
            return found or None

        found = await eventually(orders, within=10, what="the short_circuit order")
        assert [(o["fault_code"], o["status"], o["team_id"]) for o in found] == [
            ("short_circuit", "open", route.team.id)
        ]

        # The same fault again, then a fault on another light as a barrier: the gateway handles
        # messages in order, so once the second light's order exists the repeat was processed.
        mosquitto_pub(port=demo.mqtt_port, topic=f"fm/{device_id}/telemetry", message=fault, qos=0)
        other_id = next(
            d.id for d in site.devices.values() if d.type == "corridor_light" and d.id != device_id
        )
        mosquitto_pub(port=demo.mqtt_port, topic=f"fm/{other_id}/telemetry", message=fault)

        async def barrier() -> list[dict[str, Any]] | None:
            response = await client.get("/api/v1/workorders", params={"device_id": other_id})
            found: list[dict[str, Any]] = response.json()
            return found or None

        await eventually(barrier, within=10, what="the barrier order")
        assert len(await orders() or []) == 1
        devices = await client.get("/api/v1/devices", params={"limit": 1000})
        assert len(devices.json()) == len(site.devices) == int(devices.headers["X-Total-Count"])

        # One process: the API's /metrics shows the gateway, intake, relay and sweeper too.
        found = parse((await client.get("/metrics")).text)
        assert found[("fm_gateway_messages_received_total", ())] >= 3
        assert found[("fm_alerts_orders_opened_total", ())] >= 2
        for series in ("fm_relay_claimed_total", "fm_escalation_rounds_total"):
            assert (series, ()) in found
        assert ("process_cpu_seconds_total", ()) in found

    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(timeout=SHUTDOWN_S) == 0, demo.log.read_text()
    assert "Traceback" not in demo.log.read_text()
