"""`fm alerts` as its own process: the gateway commits events to the inbox
(``FM_ALERTS_HANDOFF=inbox``) and a separate `fm alerts` turns them into orders and pages, on
real Mosquitto, PostgreSQL and InfluxDB; an alerts process killed with SIGKILL loses nothing."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import pytest

from core.settings import BUNDLED_SITE
from governance.loader import load_site
from tests.e2e.helpers import eventually, fm_db_upgrade, mosquitto_pub, start_fm
from tests.servers.ports import free_port

pytestmark = pytest.mark.integration

TOKEN = "alerts-process-token-0123456789"
STARTUP_S = 30.0
STOP_S = 20.0
SMOKE = json.dumps(
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


class Fleet:
    """The three service processes, each with its own log and environment."""

    def __init__(self, base_env: dict[str, str], logs: Path) -> None:
        self.logs = logs
        self.env = {
            name: {**base_env, "FM_METRICS_PORT": str(free_port())}
            for name in ("gateway", "alerts", "api")
        }
        self.processes: dict[str, subprocess.Popen[str]] = {}
        self._starts: dict[str, int] = {}

    def start(self, name: str) -> None:
        self._starts[name] = self._starts.get(name, 0) + 1
        log = self.logs / f"{name}-{self._starts[name]}.log"
        self.processes[name] = start_fm(name, env=self.env[name], log=log)

    def log(self, name: str) -> str:
        return (self.logs / f"{name}-{self._starts[name]}.log").read_text()

    def metrics_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.env[name]['FM_METRICS_PORT']}/metrics"

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=STOP_S)


@pytest.fixture
def fleet(mosquitto: Any, postgres_url: str, influxdb_url: str, tmp_path: Path) -> Iterator[Fleet]:
    env = {
        **os.environ,
        "FM_MQTT_URL": mosquitto.url,
        "FM_DATABASE_URL": postgres_url,
        "FM_TSDB_URL": influxdb_url,
        "FM_DATA_DIR": str(tmp_path / "var"),
        "FM_ADMIN_TOKEN": TOKEN,
        "FM_HTTP_PORT": str(free_port()),
        "FM_ALERTS_HANDOFF": "inbox",
    }
    env.pop("FM_SITE_FILE", None)
    fm_db_upgrade(env)
    running = Fleet(env, tmp_path)
    try:
        yield running
    finally:
        running.stop_all()


def inbox_pending(exposition: str) -> int | None:
    found = re.search(r'^fm_alerts_inbox_events\{state="pending"\} (\S+)$', exposition, re.M)
    return int(float(found.group(1))) if found else None


async def test_orders_come_from_the_alerts_process_and_survive_its_crash(
    fleet: Fleet, mosquitto: Any
) -> None:
    site = load_site(BUNDLED_SITE)
    sheds = [d.id for d in site.devices.values() if d.type == "charging_shed"][:2]
    team = site.route(sheds[0]).team.id
    for name in ("gateway", "alerts", "api"):
        fleet.start(name)
    base = f"http://127.0.0.1:{fleet.env['api']['FM_HTTP_PORT']}"

    async with contextlib.AsyncExitStack() as stack:
        client = await stack.enter_async_context(
            httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"})
        )

        async def up() -> bool:
            for name, process in fleet.processes.items():
                assert process.poll() is None, fleet.log(name)
            try:
                ready = (await client.get("/readyz")).status_code == 200
                alerts = (await client.get(fleet.metrics_url("alerts"))).status_code == 200
            except httpx.TransportError:
                return False
            return ready and alerts and "subscribed to" in fleet.log("gateway")

        await eventually(up, within=STARTUP_S, interval=0.2, what="the three processes")
        crew = aiomqtt.Client(mosquitto.host, mosquitto.port, identifier="crew-phone")
        await stack.enter_async_context(crew)
        await crew.subscribe(f"fm/teams/{team}/workorders", qos=1)

        async def orders(device_id: str) -> list[dict[str, Any]] | None:
            response = await client.get("/api/v1/workorders", params={"device_id": device_id})
            return response.json() or None

        # The first shed reports smoke: `fm alerts` opens the order and pages the crew.
        mosquitto_pub(port=mosquitto.port, topic=f"fm/{sheds[0]}/telemetry", message=SMOKE)
        first = await eventually(lambda: orders(sheds[0]), within=15, what="the first order")
        assert [(o["fault_code"], o["team_id"]) for o in first] == [("smoke", team)]
        async for message in crew.messages:
            assert isinstance(message.payload, bytes)
            if json.loads(message.payload)["order_id"] == first[0]["id"]:
                break

        # `fm alerts` dies. The second shed's smoke is committed to the inbox by the gateway
        # (and so acknowledged to the broker), and waits there.
        fleet.processes["alerts"].send_signal(signal.SIGKILL)
        fleet.processes["alerts"].wait(timeout=STOP_S)
        mosquitto_pub(port=mosquitto.port, topic=f"fm/{sheds[1]}/telemetry", message=SMOKE)

        async def waiting_in_inbox() -> bool:
            scrape = await client.get(fleet.metrics_url("gateway"))
            return inbox_pending(scrape.text) == 1

        await eventually(waiting_in_inbox, within=15, what="the smoke event in the inbox")
        assert await orders(sheds[1]) is None

        # Restarted, it opens exactly that one order and empties the inbox.
        fleet.start("alerts")
        second = await eventually(lambda: orders(sheds[1]), within=30, what="the second order")
        assert [(o["fault_code"], o["occurrences"]) for o in second] == [("smoke", 1)]

        async def inbox_empty() -> bool:
            with contextlib.suppress(httpx.TransportError):
                scrape = await client.get(fleet.metrics_url("alerts"))
                return inbox_pending(scrape.text) == 0
            return False

        await eventually(inbox_empty, within=15, what="the inbox to be empty")
        assert len((await client.get("/api/v1/workorders")).json()) == 2

    for process in fleet.processes.values():
        process.send_signal(signal.SIGTERM)
    for name, process in fleet.processes.items():
        assert process.wait(timeout=STOP_S) == 0, fleet.log(name)
        assert "Traceback" not in fleet.log(name), fleet.log(name)
