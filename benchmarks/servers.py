"""A real Mosquitto for the benchmarks (the minimal start/stop of tests/servers/mosquitto.py)."""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MOSQUITTO = Path("/usr/sbin/mosquitto")
START_TIMEOUT_S = 10.0
POLL_S = 0.01
HOST = "127.0.0.1"


class BenchmarkSetupError(RuntimeError):
    """The benchmark cannot run here (e.g. no mosquitto binary)."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def mosquitto() -> Iterator[int]:
    """Run a fresh, quiet Mosquitto on a free loopback port; yields the port."""
    if not MOSQUITTO.is_file():
        raise BenchmarkSetupError(f"{MOSQUITTO} is missing: `make bench` installs mosquitto")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="fm-bench-") as directory:
        config = Path(directory) / "mosquitto.conf"
        lines = [f"listener {port} {HOST}", "allow_anonymous true", "persistence false"]
        lines.append("max_queued_messages 0")  # unlimited: a slow subscriber must not lose QoS 1
        if os.geteuid() == 0:
            lines.append(f"user {getpass.getuser()}")
        config.write_text("\n".join(lines) + "\n")
        process = subprocess.Popen(
            [str(MOSQUITTO), "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_listening(process, port)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=START_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_listening(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchmarkSetupError(f"mosquitto exited at start with {process.returncode}")
        try:
            with socket.create_connection((HOST, port), timeout=POLL_S * 10):
                return
        except OSError:
            time.sleep(POLL_S)
    raise BenchmarkSetupError(f"mosquitto did not listen on {port} within {START_TIMEOUT_S}s")
