"""Small helpers for end-to-end tests: free ports, polling with a deadline, mosquitto_pub."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, within: float, interval: float = 0.05, what: str
) -> T:
    """Poll ``probe`` until it returns something truthy, or fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {within}s waiting for {what}; last value: {last!r}")


def mosquitto_pub(*, port: int, topic: str, message: str, qos: int = 1) -> None:
    """Publish with the real `mosquitto_pub` client, as an operator would."""
    binary = shutil.which("mosquitto_pub")
    assert binary, "mosquitto_pub is missing: `make test` installs mosquitto-clients"
    subprocess.run(
        [binary, "-h", "127.0.0.1", "-p", str(port), "-q", str(qos), "-t", topic, "-m", message],
        check=True,
        timeout=10,
    )


def start_fm(
    *args: str, env: dict[str, str], log: Path, cwd: Path | None = None
) -> subprocess.Popen[str]:
    """Start `fm ARGS` as its own process, as an operator would, its output going to ``log``."""
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "fm", *args],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )


def fm_db_upgrade(env: dict[str, str]) -> None:
    """`fm db upgrade` as its own process, as the compose `migrate` service runs it."""
    upgrade = subprocess.run(
        [sys.executable, "-m", "fm", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert upgrade.returncode == 0, upgrade.stderr
