"""Real servers for the benchmarks: Mosquitto and PostgreSQL (the minimal start/stop of
tests/servers/, which the benchmarks must not import)."""

from __future__ import annotations

import getpass
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

MOSQUITTO = Path("/usr/sbin/mosquitto")
START_TIMEOUT_S = 10.0
POLL_S = 0.01
HOST = "127.0.0.1"
POSTGRES_SUPERUSER = "postgres"


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


@contextmanager
def postgres() -> Iterator[str]:
    """Run a throw-away PostgreSQL cluster on a free loopback port; yields a database URL.

    The cluster keeps PostgreSQL's default durability (fsync, synchronous commit): what a
    commit costs in production is part of what the storm measures.
    """
    bin_dir = _postgres_bin_dir()
    as_user = _postgres_user()
    port = free_port()
    root = Path(tempfile.mkdtemp(prefix="fm-bench-pg-"))
    data, sockets = root / "data", root / "sock"
    try:
        sockets.mkdir()
        if as_user is not None:
            for path in (root, sockets):
                os.chown(path, as_user.pw_uid, as_user.pw_gid)
        run_as = _run_as(as_user)
        subprocess.run(
            [bin_dir / "initdb", "-D", data, "-U", POSTGRES_SUPERUSER, "-A", "trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
            **run_as,
        )
        listen = f"listen_addresses={HOST}"
        process = subprocess.Popen(
            [bin_dir / "postgres", "-D", data, "-p", str(port), "-k", sockets, "-c", listen],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            **run_as,
        )
        try:
            _wait_postgres(process, port)
            yield f"postgresql+psycopg://{POSTGRES_SUPERUSER}@{HOST}:{port}/postgres"
        finally:
            process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                process.wait(timeout=START_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _postgres_bin_dir() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda path: int(Path(path).parent.parent.name),
    )
    if not found:
        raise BenchmarkSetupError("PostgreSQL is missing: `make bench` installs postgresql")
    return Path(found[-1]).parent


def _postgres_user() -> pwd.struct_passwd | None:
    """PostgreSQL refuses to run as root: then it runs as the ``postgres`` system user."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(POSTGRES_SUPERUSER)
    except KeyError as exc:
        raise BenchmarkSetupError("running as root needs the `postgres` system user") from exc


def _run_as(user: pwd.struct_passwd | None) -> dict[str, object]:
    if user is None:
        return {}
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _wait_postgres(process: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchmarkSetupError(f"postgres exited at start with {process.returncode}")
        try:
            with psycopg.connect(host=HOST, port=port, user=POSTGRES_SUPERUSER, dbname="postgres"):
                return
        except psycopg.OperationalError:
            time.sleep(POLL_S)
    raise BenchmarkSetupError(f"postgres did not accept connections within {START_TIMEOUT_S}s")
