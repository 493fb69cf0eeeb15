"""The docker-compose shape without Docker: `fm db upgrade`, `fm gateway` and `fm api` as separate
processes against real Mosquitto, PostgreSQL and InfluxDB."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest

from core.settings import BUNDLED_SITE
from governance.loader import load_site
from tests.alerts.receiver import HttpReceiver
from tests.e2e.helpers import eventually, fm_db_upgrade, mosquitto_pub, start_fm
from tests.servers.ports import free_port

pytestmark = pytest.mark.integration

TOKEN = "production-shape-token-0123456789"
STARTUP_S = 30.0
STOP_S = 20.0


@pytest.fixture
def environment(
    mosquitto: Any, postgres_url: str, influxdb_url: str, tmp_path: Path
) -> dict[str, str]:
    env = {
        **os.environ,
        "FM_MQTT_URL": mosquitto.url,
        "FM_DATABASE_URL": postgres_url,
        "FM_TSDB_URL": influxdb_url,
        "FM_DATA_DIR": str(tmp_path / "var"),
        "FM_ADMIN_TOKEN": TOKEN,
        "FM_HTTP_PORT": str(free_port()),
        # A port of its own, so parallel test runs never fight over the default 9464.
        "FM_METRICS_PORT": str(free_port()),
    }
    env.pop("FM_SITE_FILE", None)
    return env


@pytest.fixture
def processes(environment: dict[str, str], tmp_path: Path) -> Iterator[dict[str, Any]]:
    fm_db_upgrade(environment)
    gateway = start_fm("gateway", env=environment, log=tmp_path / "gateway.log")
    api = start_fm("api", env=environment, log=tmp_path / "api.log")
    running = {"gateway": gateway, "api": api, "env": environment, "logs": tmp_path}
    try:
        yield running
    finally:
        for process in (gateway, api):
            if process.poll() is None:
                process.kill()
                process.wait(timeout=STOP_S)


async def test_gateway_and_api_processes_share_postgres_and_influxdb(
    processes: dict[str, Any], mosquitto: Any
) -> None:
    env = processes["env"]
    site = load_site(BUNDLED_SITE)
    device_id = next(d.id for d in site.devices.values() if d.type == "charging_shed")
    route = site.route(device_id)
    base = f"http://127.0.0.1:{env['FM_HTTP_PORT']}"

    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(
            httpx.AsyncClient(
                base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
            )
        )

        async def ready() -> bool:
            for name in ("gateway", "api"):
                assert processes[name].poll() is None, (
                    processes["logs"] / f"{name}.log"
                ).read_text()
            try:
                return (await client.get("/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(ready, within=STARTUP_S, interval=0.2, what="the API to be ready")

        async def gateway_subscribed() -> bool:
            return "subscribed to" in (processes["logs"] / "gateway.log").read_text()

        await eventually(gateway_subscribed, within=STARTUP_S, what="the gateway to subscribe")

        # Crews listen on their team topic; the grid team also has a signed webhook.
        crew = aiomqtt.Client(mosquitto.host, mosquitto.port, identifier="crew-phone")
        await stack.enter_async_context(crew)
        await crew.subscribe(f"fm/teams/{route.team.id}/workorders", qos=1)
        receiver = await stack.enter_async_context(HttpReceiver())
        created = await client.post(
            "/api/v1/notification-endpoints",
            json={
                "kind": "webhook",
                "url": receiver.url("/grid-team"),
                "secret": "webhook-secret-123",
                "scope_kind": "team",
                "scope_id": route.team.id,
            },
        )
        assert created.status_code in (200, 201), created.text

        # A charging shed reports smoke: a critical order for its grid team.
        smoke = json.dumps(
            {
                "metrics": {
                    "temp_c": 30,
                    "smoke": True,
                    "power_w": 1000,
                    "ports_in_use": 1,
                    "ports_faulted": 0,
                    "breaker_on": True,
                }
            }
        )
        mosquitto_pub(port=mosquitto.port, topic=f"fm/{device_id}/telemetry", message=smoke)

        async def smoke_order() -> list[dict[str, Any]] | None:
            response = await client.get("/api/v1/workorders", params={"device_id": device_id})
            orders: list[dict[str, Any]] = response.json()
            return orders or None

        orders = await eventually(smoke_order, within=15, what="the smoke order")
        assert [(o["fault_code"], o["severity"], o["team_id"]) for o in orders] == [
            ("smoke", "critical", route.team.id)
        ]
        device = (await client.get(f"/api/v1/devices/{device_id}")).json()
        assert device["status"] == "fault"

        # The gateway process's dispatcher notifies the crew over MQTT and the webhook.
        async with asyncio.timeout(15):
            async for message in crew.messages:
                assert isinstance(message.payload, bytes)
                notification = json.loads(message.payload)
                if notification["order_id"] == orders[0]["id"]:
                    assert notification["fault_code"] == "smoke"
                    break

        async def webhook_called() -> bool:
            return any(r.path == "/grid-team" for r in receiver.requests)

        await eventually(webhook_called, within=15, what="the webhook delivery")
        hook = next(r for r in receiver.requests if r.path == "/grid-team")
        assert "x-fm-signature" in hook.headers
        assert str(orders[0]["id"]) in hook.body.decode()

        # Readiness follows the broker: stop Mosquitto and /readyz turns 503.
        mosquitto.stop()

        async def not_ready() -> bool:
            return (await client.get("/readyz")).status_code == 503

        await eventually(not_ready, within=15, interval=0.2, what="/readyz to report the broker")
        mosquitto.start()
        await eventually(ready, within=STARTUP_S, interval=0.2, what="ready again")

    for name in ("gateway", "api"):
        processes[name].send_signal(signal.SIGTERM)
    for name in ("gateway", "api"):
        code = processes[name].wait(timeout=STOP_S)
        log = (processes["logs"] / f"{name}.log").read_text()
        assert code == 0, log
        assert "Traceback" not in log, log
