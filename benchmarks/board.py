"""The board's main request, ``GET /api/v1/board``, on the demo site with a busy history.

The store holds what a year of a troubled street leaves behind (closed orders and ended
episodes, which the board's grouped reads must skip cheaply) plus a bad day's open orders and
open episodes. The requests go over loopback HTTP to a real ``fm api`` process (benchmarks may
not import ``api``), so each one pays for auth, the unit of work, the two grouped reads, the
roll-up and JSON. Baselines: ``GET /healthz`` (the transport) and ``GET /api/v1/site`` (auth and
JSON, no database) of the same process. Target: board p99 <= 100 ms.

Each request opens a new connection, as a browser's first request or curl does: over a kept-alive
httpx connection every answer from uvicorn waited about 40 ms more (measured here: /healthz p50
44 ms kept alive, 5 to 8 ms on a fresh connection), a delayed-ACK artefact of the client that
would hide the figure being measured.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from benchmarks.latency import describe
from benchmarks.servers import HOST, free_port
from benchmarks.support import summary_ms
from core.settings import BUNDLED_SITE
from governance.loader import load_site
from storage.relational.db import create_engine, session_factory
from storage.relational.migrate import upgrade_database
from storage.relational.models import Base, Episode, OrderStatus, WorkOrder

BOARD_SAMPLES = int(os.environ.get("FM_BENCH_BOARD_SAMPLES", "200"))
HISTORY_ORDERS = int(os.environ.get("FM_BENCH_BOARD_HISTORY", "20000"))
OPEN_ORDERS = 300
OPEN_EPISODES = 400
TARGET_P99_MS = 100.0
_TOKEN = "bench-board-token-0123456789"
_SEVERITIES = ("minor", "major", "critical")
_OPEN_STATES = (OrderStatus.OPEN, OrderStatus.ACKNOWLEDGED, OrderStatus.IN_PROGRESS)
_YEAR = timedelta(days=365)
API_STARTUP_S = 30.0
_POLL_S = 0.1


def _history(site_devices: list[tuple[str, str, str, str, str]], now: datetime) -> list[Base]:
    rng = random.Random(9)
    rows: list[Base] = []
    for n in range(HISTORY_ORDERS + OPEN_ORDERS):
        device_id, building_id, grid_id, community_id, team_id = rng.choice(site_devices)
        created = now - _YEAR * rng.random()
        is_open = n >= HISTORY_ORDERS
        status = rng.choice(_OPEN_STATES) if is_open else OrderStatus.CLOSED
        rows.append(
            WorkOrder(
                device_id=device_id,
                fault_code="leak",
                severity=rng.choice(_SEVERITIES),
                status=status.value,
                tier="grid",
                building_id=building_id,
                grid_id=grid_id,
                community_id=community_id,
                team_id=team_id,
                created_at=created,
                updated_at=created,
                open_key=f"{device_id}:{n}" if is_open else None,
                ack_due_at=created + timedelta(hours=1) if is_open else None,
                resolve_due_at=created + timedelta(days=1) if is_open else None,
            )
        )
        started = created
        ended = None if n >= HISTORY_ORDERS + OPEN_ORDERS - OPEN_EPISODES else started
        rows.append(
            Episode(
                device_id=device_id,
                code="leak",
                severity="major",
                source="rule",
                started_at=started,
                ended_at=ended and ended + timedelta(hours=2),
                open_key=None if ended else f"{device_id}:leak:{n}",
            )
        )
    return rows


async def board_request() -> None:
    """Print the board's latency next to the site-only baseline."""
    site = load_site(BUNDLED_SITE)
    devices = [
        (r.device.id, r.building.id, r.grid.id, r.community.id, r.team.id)
        for r in (site.route(device_id) for device_id in sorted(site.devices))
    ]
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="fm-bench-board-") as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'board.sqlite3'}"
        await upgrade_database(url)
        engine = create_engine(url)
        try:
            async with session_factory(engine)() as session, session.begin():
                session.add_all(_history(devices, now))
        finally:
            await engine.dispose()
        port = free_port()
        env = {
            **os.environ,
            "FM_DATA_DIR": directory,
            "FM_DATABASE_URL": url,
            "FM_ADMIN_TOKEN": _TOKEN,
            "FM_HTTP_PORT": str(port),
            "FM_SITE_FILE": str(BUNDLED_SITE),
        }
        with _fm_api(env) as process:
            async with httpx.AsyncClient(
                base_url=f"http://{HOST}:{port}",
                headers={"Authorization": f"Bearer {_TOKEN}"},
                limits=httpx.Limits(max_keepalive_connections=0),
            ) as client:
                await _wait_up(client, process)
                transport = [await _timed(client, "/healthz") for _ in range(BOARD_SAMPLES)]
                baseline = [await _timed(client, "/api/v1/site") for _ in range(BOARD_SAMPLES)]
                board = [await _timed(client, "/api/v1/board") for _ in range(BOARD_SAMPLES)]
    history = HISTORY_ORDERS + OPEN_ORDERS
    print(
        f"\nboard request (demo site: {len(site.devices)} devices, {len(site.grids)} grids;"
        f" {history} orders and {history} episodes, {OPEN_ORDERS} orders and"
        f" {OPEN_EPISODES} episodes open; SQLite;"
        f" {BOARD_SAMPLES} requests over loopback HTTP to `fm api`)"
    )
    print(describe("baseline: GET /healthz", transport))
    print(describe("baseline: GET /api/v1/site", baseline))
    print(describe("GET /api/v1/board", board))
    p99 = summary_ms(board)["p99"]
    print(f"  board p99 {p99:.1f} ms (target <= {TARGET_P99_MS:.0f} ms)")


async def _timed(client: httpx.AsyncClient, path: str) -> float:
    started = time.perf_counter()
    response = await client.get(path)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed


@contextmanager
def _fm_api(env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """`fm api` as its own process, as an operator runs it; stopped on exit."""
    process = subprocess.Popen(
        [sys.executable, "-m", "fm", "api"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=API_STARTUP_S)


async def _wait_up(client: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + API_STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"fm api exited with {process.returncode}")
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet
        await asyncio.sleep(_POLL_S)
    raise RuntimeError(f"fm api did not answer /healthz within {API_STARTUP_S:.0f} s")
