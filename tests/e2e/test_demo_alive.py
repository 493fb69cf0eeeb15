"""`fm demo --history-days 2` as run by a user: history at start, faults into its own fleet."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import eventually, start_fm
from tests.servers.ports import free_port

pytestmark = pytest.mark.integration

TOKEN = "demo-alive-token-0123456789"
STARTUP_S = 60.0  # two days of history are seeded before the demo answers
SHUTDOWN_S = 20.0
SIMULATE_INTERVAL_S = 1.0
DEVICE = "ssc-g01-b1-pipe"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    values = {
        **os.environ,
        "FM_HTTP_PORT": str(free_port()),
        "FM_MQTT_PORT": str(free_port()),
        "FM_DATA_DIR": str(tmp_path / "var"),
        "FM_ADMIN_TOKEN": TOKEN,
        "FM_SIMULATE": "true",
        "FM_SIMULATE_INTERVAL_S": str(SIMULATE_INTERVAL_S),
    }
    for inherited in ("FM_MQTT_URL", "FM_DATABASE_URL", "FM_TSDB_URL"):
        values.pop(inherited, None)
    return values


@pytest.fixture
def demo(env: dict[str, str], tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    log = tmp_path / "demo.log"
    process = start_fm("demo", "--history-days", "2", env=env, log=log)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=SHUTDOWN_S)


def fm_simulate(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fm", "simulate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


async def test_history_is_there_and_faults_go_into_the_demos_own_fleet(
    demo: subprocess.Popen[str], env: dict[str, str], tmp_path: Path
) -> None:
    base = f"http://127.0.0.1:{env['FM_HTTP_PORT']}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=5) as client:

        async def ready() -> bool:
            assert demo.poll() is None, (tmp_path / "demo.log").read_text()
            try:
                return (await client.get("/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(ready, within=STARTUP_S, interval=0.2, what="the demo to be ready")
        closed = (await client.get("/api/v1/workorders", params={"status": "closed"})).json()
        assert closed, "two days of history hold closed orders"

        injected = fm_simulate(env, "inject", DEVICE, "leak")
        assert injected.returncode == 0, injected.stderr
        assert "inject" in injected.stdout

        async def order() -> dict[str, Any] | None:
            response = await client.get("/api/v1/workorders", params={"device_id": DEVICE})
            found = [o for o in response.json() if o["status"] == "open"]
            return found[0] if found else None

        opened = await eventually(order, within=15, what="the leak order")
        assert opened["fault_code"] == "leak"

        recovered = fm_simulate(env, "recover", DEVICE)
        assert recovered.returncode == 0, recovered.stderr

        async def marked_recovered() -> bool:
            found = await order()
            return found is not None and found["recovered_at"] is not None

        await eventually(marked_recovered, within=15, what="the order marked recovered")

        alien = fm_simulate(env, "inject", DEVICE, "smoke")
        assert alien.returncode == 2
        assert "not a fault of" in alien.stderr

    demo.send_signal(signal.SIGINT)
    assert demo.wait(timeout=SHUTDOWN_S) == 0
    log = (tmp_path / "demo.log").read_text()
    assert "history: 2 days seeded" in log
    assert "Traceback" not in log


def test_inject_without_a_demo_says_so(env: dict[str, str]) -> None:
    result = fm_simulate(env, "inject", DEVICE, "leak")
    assert result.returncode == 2
    assert "no demo answers" in result.stderr


async def test_without_the_simulated_fleet_nothing_is_seeded_or_injected(
    env: dict[str, str], tmp_path: Path
) -> None:
    # FM_SIMULATE=false: the demo is for real devices; no history, no street life, no fleet.
    quiet = {**env, "FM_SIMULATE": "false"}
    log = tmp_path / "real-devices.log"
    process = start_fm("demo", "--history-days", "2", env=quiet, log=log)
    base = f"http://127.0.0.1:{env['FM_HTTP_PORT']}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=5) as client:

            async def ready() -> bool:
                assert process.poll() is None, log.read_text()
                try:
                    return (await client.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, within=STARTUP_S, interval=0.2, what="the demo to be ready")
            orders = await client.get("/api/v1/workorders")
            assert orders.json() == []
            injected = await client.post(
                "/api/v1/simulation/faults",
                json={"device_id": DEVICE, "code": "leak", "action": "inject"},
            )
            assert injected.status_code == 404
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=SHUTDOWN_S) == 0
    assert "history:" not in log.read_text()
