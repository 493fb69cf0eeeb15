"""Fixture starting a real influxdb process on a free port in a temporary directory."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.servers.ports import free_port

#: Generous bounds for a loaded CI machine; the loops return as soon as the server answers.
STARTUP_TIMEOUT_S = 30.0
SHUTDOWN_TIMEOUT_S = 15.0
POLL_INTERVAL_S = 0.05
HTTP_TIMEOUT_S = 5.0
HOST = "127.0.0.1"

_CONFIG = """\
reporting-disabled = true
bind-address = "{host}:{rpc_port}"

[meta]
  dir = "{root}/meta"

[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false

[http]
  enabled = true
  bind-address = "{host}:{http_port}"
  log-enabled = false

[monitor]
  store-enabled = false

[continuous_queries]
  enabled = false
"""


@dataclass(frozen=True, slots=True)
class InfluxServer:
    """A running InfluxDB 1.x with authentication off."""

    host: str
    port: int
    root: Path
    process: subprocess.Popen[bytes]

    @property
    def http_url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://{self.host}:{self.port}"

    def url(self, database: str) -> str:
        """FM_TSDB_URL for ``database`` on this server."""
        return f"influxdb://{self.host}:{self.port}/{database}"

    def query(self, statement: str) -> httpx.Response:
        """POST one InfluxQL statement (for fixtures and assertions)."""
        return httpx.post(f"{self.http_url}/query", data={"q": statement}, timeout=HTTP_TIMEOUT_S)

    def stop(self) -> None:
        """Stop the server and wait for it; idempotent."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=SHUTDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _binary() -> str:
    found = shutil.which("influxd") or (
        "/usr/bin/influxd" if Path("/usr/bin/influxd").is_file() else None
    )
    if found is None:
        pytest.fail(
            "influxd not found; `make test` installs it "
            "(`make system-deps`, Debian package influxdb)"
        )
    return found


def _wait_until_ready(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last: object = None
    with httpx.Client(timeout=HTTP_TIMEOUT_S) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"influxd exited with {process.returncode}:\n{log.read_text()}")
            try:
                response = client.get(f"http://{HOST}:{port}/ping")
                if response.status_code == httpx.codes.NO_CONTENT:
                    return
                last = response.status_code
            except httpx.TransportError as exc:
                last = exc
            time.sleep(POLL_INTERVAL_S)
    pytest.fail(f"influxd did not answer /ping in {STARTUP_TIMEOUT_S}s: {last!r}")


def _start(root: Path, http_port: int) -> InfluxServer:
    """Start influxd on the config in ``root`` and wait until it answers ``/ping``."""
    log = root / "influxd.log"
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            [_binary(), "-config", str(root / "influxdb.conf")],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = InfluxServer(host=HOST, port=http_port, root=root, process=process)
    try:
        _wait_until_ready(process, http_port, log)
    except BaseException:
        server.stop()
        raise
    return server


def restarted(server: InfluxServer) -> InfluxServer:
    """A new influxd on the stopped ``server``'s port and data (an outage ends); stop it after."""
    server.stop()
    return _start(server.root, server.port)


@contextlib.contextmanager
def running_influxdb(root: Path) -> Iterator[InfluxServer]:
    """Run influxd with its meta, data and WAL directories under ``root``; stop it after."""
    root.mkdir(parents=True, exist_ok=True)
    http_port, rpc_port = free_port(), free_port()
    config = root / "influxdb.conf"
    config.write_text(_CONFIG.format(host=HOST, rpc_port=rpc_port, http_port=http_port, root=root))
    server = _start(root, http_port)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def influxdb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    """One InfluxDB server for the whole test session."""
    with running_influxdb(tmp_path_factory.mktemp("influxdb")) as server:
        yield server


@pytest.fixture
def influxdb_url(influxdb_server: InfluxServer) -> Iterator[str]:
    """A fresh database name per test: ``influxdb://127.0.0.1:<port>/<db>`` (created on open)."""
    database = f"test_{uuid.uuid4().hex[:16]}"
    yield influxdb_server.url(database)
    influxdb_server.query(f'DROP DATABASE "{database}"').raise_for_status()
