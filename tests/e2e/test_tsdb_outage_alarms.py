"""A time-series store outage must not hold back alarms: with InfluxDB stopped, a real
`fm gateway` spools QoS 1 telemetry locally and acknowledges it, so a QoS 1 smoke event behind
more than Mosquitto's in-flight window of telemetry still opens its order during the outage;
the gateway killed with SIGKILL meanwhile writes its spool on the next start, losing nothing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from core.settings import BUNDLED_SITE
from governance.loader import load_site
from storage.tsdb.influx import InfluxV1TimeSeries
from tests.e2e.helpers import eventually, fm_db_upgrade, start_fm
from tests.servers.influxdb import restarted, running_influxdb
from tests.servers.ports import free_port

pytestmark = pytest.mark.integration

STARTUP_S = 30.0
# Five times Mosquitto's default in-flight window (20): unacknowledged, they would block QoS 1.
READINGS = 100
START = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)


def smoke_orders(database: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT device_id, fault_code FROM work_orders WHERE fault_code = 'smoke'"
        ).fetchall()
    return [(str(device), str(code)) for device, code in rows]


@pytest.mark.timeout(180)
async def test_alarms_pass_a_stopped_influxdb_and_spooled_points_survive_a_crash(
    mosquitto: Any, tmp_path: Path
) -> None:
    site = load_site(BUNDLED_SITE)
    light = next(d.id for d in site.devices.values() if d.type == "corridor_light")
    shed = next(d.id for d in site.devices.values() if d.type == "charging_shed")
    database = tmp_path / "fm.sqlite3"
    with running_influxdb(tmp_path / "influxdb") as influx:
        env = {
            **os.environ,
            "FM_MQTT_URL": mosquitto.url,
            "FM_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "FM_TSDB_URL": influx.url("outage"),
            "FM_DATA_DIR": str(tmp_path / "var"),
            "FM_METRICS_PORT": str(free_port()),
        }
        env.pop("FM_SITE_FILE", None)
        await asyncio.to_thread(fm_db_upgrade, env)
        gateway = start_fm("gateway", env=env, log=tmp_path / "gateway-1.log")
        spool = tmp_path / "var" / "spool" / "fm-gateway.points"
        try:

            async def subscribed() -> bool:
                assert gateway.poll() is None, (tmp_path / "gateway-1.log").read_text()
                return "subscribed to" in (tmp_path / "gateway-1.log").read_text()

            await eventually(subscribed, within=STARTUP_S, what="the gateway to subscribe")
            await asyncio.to_thread(influx.stop)

            async with aiomqtt.Client(mosquitto.host, mosquitto.port, identifier="devices") as dev:
                for n in range(READINGS):
                    reading = {
                        "ts": (START + timedelta(seconds=n)).timestamp(),
                        "seq": n,
                        "metrics": {"lamp_on": True, "current_a": 0.4, "voltage_v": 220 + n % 3},
                    }
                    await dev.publish(f"fm/{light}/telemetry", json.dumps(reading), qos=1)
                await dev.publish(
                    f"fm/{shed}/event", json.dumps({"code": "smoke", "active": True}), qos=1
                )

            async def smoke_order() -> list[tuple[str, str]]:
                return smoke_orders(database)

            # The store is still down: the order comes through the spool's acknowledgements.
            opened = await eventually(smoke_order, within=30, what="the smoke order")
            assert opened == [(shed, "smoke")]
            assert spool.stat().st_size > 0

            gateway.send_signal(signal.SIGKILL)
            gateway.wait(timeout=10)
            back = await asyncio.to_thread(restarted, influx)
            try:
                gateway = start_fm("gateway", env=env, log=tmp_path / "gateway-2.log")
                store = InfluxV1TimeSeries(back.url("outage"))
                await store.open()
                try:

                    async def stored() -> int:
                        samples = await store.read(
                            device_id=light,
                            metric="voltage_v",
                            start=START,
                            end=START + timedelta(seconds=READINGS),
                        )
                        return len(samples) if len(samples) == READINGS else 0

                    await eventually(stored, within=60, what="every reading in InfluxDB")
                    await eventually(
                        lambda: _empty(spool), within=30, what="the spool emptied after the write"
                    )
                finally:
                    await store.close()
            finally:
                back.stop()
        finally:
            if gateway.poll() is None:
                gateway.send_signal(signal.SIGTERM)
                assert gateway.wait(timeout=20) == 0
        assert smoke_orders(database) == [(shed, "smoke")]


async def _empty(path: Path) -> bool:
    return (await asyncio.to_thread(path.stat)).st_size == 0
