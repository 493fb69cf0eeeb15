"""A private influxd for the store benchmark: quiet config in a temporary directory, free ports."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from benchmarks.servers import HOST, BenchmarkSetupError, free_port

STARTUP_TIMEOUT_S = 30.0
SHUTDOWN_TIMEOUT_S = 15.0
POLL_INTERVAL_S = 0.05

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
"""


@contextmanager
def influxd() -> Iterator[str]:
    """Run influxd (InfluxDB 1.x) on free loopback ports; yields its base HTTP URL."""
    binary = shutil.which("influxd")
    if binary is None:
        raise BenchmarkSetupError("influxd is missing: `make system-deps` installs influxdb")
    with tempfile.TemporaryDirectory(prefix="fm-bench-influxd-") as directory:
        root = Path(directory)
        http_port = free_port()
        config = root / "influxdb.conf"
        config.write_text(
            _CONFIG.format(host=HOST, rpc_port=free_port(), http_port=http_port, root=root)
        )
        process = subprocess.Popen(
            [binary, "-config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        url = f"http://{HOST}:{http_port}"
        try:
            _wait_ready(process, url)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=SHUTDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_ready(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchmarkSetupError(f"influxd exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/ping").is_success:
                return
        except httpx.TransportError:
            pass
        time.sleep(POLL_INTERVAL_S)
    raise BenchmarkSetupError(f"influxd did not answer /ping within {STARTUP_TIMEOUT_S:.0f} s")
