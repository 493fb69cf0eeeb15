"""`kill -9` of `fm gateway` at random moments of a QoS 1 fault/clear stream on real Mosquitto:
every reading is stored exactly once, every raise is counted exactly once, no order doubles.

The gateway acknowledges a message only once its points are written and its events committed,
so whatever a killed gateway had not finished the broker delivers again to the next one."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiomqtt
import pytest

from core.settings import BUNDLED_SITE
from governance.loader import load_site
from tests.e2e.helpers import eventually, start_fm
from tests.servers.mosquitto import MosquittoServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

DEVICES = 4
READINGS_PER_DEVICE = 240
KILLS = 3
RUN = 3  # readings in a row with the fault, then as many without: one raise per six readings
START_S = 30.0
SETTLE_S = 90.0


@dataclass
class Gateway:
    """`fm gateway` processes started one after another on the same stores and client id."""

    env: dict[str, str]
    directory: Path
    process: subprocess.Popen[str] | None = None
    logs: list[Path] = field(default_factory=list)

    def start(self) -> None:
        log = self.directory / f"gateway-{len(self.logs)}.log"
        self.logs.append(log)
        self.process = start_fm("gateway", env=self.env, log=log)

    async def subscribed(self) -> None:
        log = self.logs[-1]

        async def ready() -> bool:
            assert self.process is not None and self.process.poll() is None, log.read_text()
            return "subscribed to" in log.read_text()

        await eventually(ready, within=START_S, what="the gateway to subscribe")

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


@pytest.fixture
def gateway(mosquitto: MosquittoServer, tmp_path: Path) -> Iterator[Gateway]:
    env = {
        **os.environ,
        "FM_MQTT_URL": mosquitto.url,
        "FM_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'fm.sqlite3'}",
        "FM_TSDB_URL": f"sqlite:///{tmp_path / 'telemetry.sqlite3'}",
        "FM_DATA_DIR": str(tmp_path / "var"),
        "FM_ADMIN_TOKEN": "crash-test-token-0123456789abcdef",
        "FM_GATEWAY_CHECKPOINT_INTERVAL_S": "0.2",
        "FM_LOG_LEVEL": "INFO",
        "FM_METRICS_PORT": "0",  # no listener: runs in parallel with other gateways
    }
    env.pop("FM_SITE_FILE", None)
    upgrade = subprocess.run(
        [sys.executable, "-m", "fm", "db", "upgrade"], env=env, capture_output=True, timeout=60
    )
    assert upgrade.returncode == 0, upgrade.stderr
    running = Gateway(env=env, directory=tmp_path)
    try:
        yield running
    finally:
        if running.process is not None and running.process.poll() is None:
            running.process.kill()
            running.process.wait()


def stream(devices: list[str], start: float) -> list[tuple[str, bytes]]:
    """Interleaved readings of every device: RUN with a short circuit, RUN without, ..."""
    messages: list[tuple[str, bytes]] = []
    for i in range(READINGS_PER_DEVICE):
        faulty = (i // RUN) % 2 == 0
        for device in devices:
            metrics = {"lamp_on": True, "current_a": 12.0 if faulty else 0.4, "voltage_v": 220}
            body = {"ts": start + i * 0.1, "seq": i + 1, "metrics": metrics}
            messages.append((f"fm/{device}/telemetry", json.dumps(body).encode()))
    return messages


def query(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        return connection.execute(sql).fetchall()


def stored_points(path: Path) -> list[tuple[str, int]]:
    """``(device_id, ts_us)`` of every point in the time-series file's raw chunks."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        chunks = [name for (name,) in connection.execute("SELECT name FROM chunks")]
        rows: list[tuple[str, int]] = []
        for name in chunks:
            if name.startswith("raw_"):
                rows += connection.execute(
                    f'SELECT s.device_id, r.ts_us FROM "{name}" AS r '
                    "JOIN series AS s ON s.id = r.series_id"
                ).fetchall()
        return rows


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_kill_9_at_random_moments_loses_and_doubles_nothing(
    gateway: Gateway, mosquitto: MosquittoServer, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    site = load_site(BUNDLED_SITE)
    lights = sorted(d.id for d in site.devices.values() if d.type == "corridor_light")
    devices = rng.sample(lights, DEVICES)
    messages = stream(devices, start=time.time() - 120)
    kill_at = sorted(rng.sample(range(50, len(messages) - 50), KILLS))

    gateway.start()
    await gateway.subscribed()
    async with aiomqtt.Client(mosquitto.host, mosquitto.port, identifier=f"stream-{seed}") as pub:
        for index, (topic, payload) in enumerate(messages):
            if kill_at and index == kill_at[0]:
                kill_at.pop(0)
                gateway.kill()
                gateway.start()  # the broker keeps the session's messages meanwhile
            await pub.publish(topic, payload, qos=1)
    await gateway.subscribed()

    telemetry, relational = tmp_path / "telemetry.sqlite3", tmp_path / "fm.sqlite3"
    raises = -(-READINGS_PER_DEVICE // (2 * RUN))  # one per run of faulty readings
    points = DEVICES * READINGS_PER_DEVICE * 3

    async def settled() -> bool:
        stored = len(stored_points(telemetry))
        episodes = query(relational, "SELECT count(*) FROM episodes")[0][0]
        return stored == points and episodes == DEVICES * raises

    await eventually(settled, within=SETTLE_S, interval=0.2, what="every reading and raise")
    gateway.stop()

    stored = stored_points(telemetry)
    per_device = {device: len({ts for d, ts in stored if d == device}) for device in devices}
    assert per_device == dict.fromkeys(devices, READINGS_PER_DEVICE)
    assert {device for device, _ in stored} == set(devices)
    assert len(stored) == points
    episodes = query(
        relational,
        "SELECT device_id, count(*) FROM episodes WHERE code = 'short_circuit' GROUP BY 1",
    )
    assert dict(episodes) == dict.fromkeys(devices, raises)
    orders = query(relational, "SELECT device_id, occurrences FROM work_orders ORDER BY device_id")
    assert orders == [(device, raises) for device in sorted(devices)]
    assert len(gateway.logs) == KILLS + 1
