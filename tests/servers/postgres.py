"""Fixture starting a real postgres process on a free port in a temporary directory."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.servers.ports import free_port

#: Generous bounds for a loaded CI machine; the loops return as soon as the server answers.
STARTUP_TIMEOUT_S = 30.0
SHUTDOWN_TIMEOUT_S = 15.0
POLL_INTERVAL_S = 0.05
SUPERUSER = "postgres"
HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class PostgresServer:
    """A running PostgreSQL cluster with trust authentication for ``postgres`` on loopback."""

    host: str
    port: int
    data_dir: Path

    def url(self, dbname: str) -> str:
        """SQLAlchemy URL of database ``dbname`` on this server."""
        return f"postgresql+psycopg://{SUPERUSER}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        """A plain autocommit psycopg connection (for fixtures and assertions)."""
        return psycopg.connect(
            host=self.host, port=self.port, user=SUPERUSER, dbname=dbname, autocommit=True
        )

    def create_database(self, dbname: str) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"'.encode())
        return self.url(dbname)

    def drop_database(self, dbname: str) -> None:
        """Drop a database, disconnecting anything a test left behind."""
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'.encode())


def _bin_dir() -> Path:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda path: int(Path(path).parent.parent.name),
    )
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("postgres")
    if found:
        return Path(found).parent
    pytest.fail(
        "PostgreSQL server binaries (initdb, postgres) not found; "
        "`make test` installs them (`make system-deps` installs the Debian package postgresql)"
    )


@dataclass(frozen=True, slots=True)
class _Identity:
    """Who runs initdb and postgres: the postgres system user when we are root, else us."""

    uid: int | None = None
    gid: int | None = None
    extra_groups: list[int] | None = None

    def chown(self, path: Path) -> None:
        """Hand ``path`` to that user."""
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)


def _identity() -> _Identity:
    if os.geteuid() != 0:
        return _Identity()
    try:
        user = pwd.getpwnam(SUPERUSER)
    except KeyError:
        pytest.fail("running as root needs the `postgres` system user; `make test` creates it")
    # PostgreSQL refuses to run as root; drop to its own user and shed root's groups.
    return _Identity(uid=user.pw_uid, gid=user.pw_gid, extra_groups=[])


def _wait_until_ready(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"postgres exited with {process.returncode}:\n{log.read_text()}")
        try:
            with psycopg.connect(host=HOST, port=port, user=SUPERUSER, dbname="postgres"):
                return
        except psycopg.OperationalError as exc:
            last_error = exc
        time.sleep(POLL_INTERVAL_S)
    pytest.fail(f"postgres did not accept connections in {STARTUP_TIMEOUT_S}s: {last_error}")


class PostgresProcess:
    """One cluster's postgres process, which a test may stop and start again (same port)."""

    def __init__(self, *, bin_dir: Path, who: _Identity, root: Path, port: int) -> None:
        self._bin_dir = bin_dir
        self._who = who
        self.data_dir, self._socket_dir, self._log = root / "data", root / "sock", root / "pg.log"
        self.port = port
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def server(self) -> PostgresServer:
        """Where clients connect."""
        return PostgresServer(host=HOST, port=self.port, data_dir=self.data_dir)

    def start(self) -> None:
        """Start postgres and return once it accepts connections."""
        who = self._who
        with self._log.open("ab") as log_file:
            self._process = subprocess.Popen(
                [
                    self._bin_dir / "postgres",
                    "-D",
                    self.data_dir,
                    "-p",
                    str(self.port),
                    "-k",
                    self._socket_dir,
                    "-c",
                    f"listen_addresses={HOST}",
                    # Durability is not under test here; these make the cluster fast to use.
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=who.uid,
                group=who.gid,
                extra_groups=who.extra_groups,
            )
        _wait_until_ready(self._process, self.port, self._log)

    def stop(self) -> None:
        """Fast shutdown: disconnect every client and exit."""
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=SHUTDOWN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def postgres_process() -> Iterator[PostgresProcess]:
    """Run initdb and postgres in a fresh temporary directory; stop and remove it after."""
    bin_dir = _bin_dir()
    who = _identity()
    # Not under pytest's tmp_path: its root-only parent directories would lock postgres out.
    root = Path(tempfile.mkdtemp(prefix="fm-postgres-"))
    cluster = PostgresProcess(bin_dir=bin_dir, who=who, root=root, port=free_port())
    try:
        who.chown(root)
        # --no-sync: a throw-away cluster needs no fsync.
        initdb = subprocess.run(
            [
                bin_dir / "initdb",
                "--no-sync",
                "-D",
                cluster.data_dir,
                "-U",
                SUPERUSER,
                "-A",
                "trust",
                "-E",
                "UTF8",
            ],
            capture_output=True,
            text=True,
            user=who.uid,
            group=who.gid,
            extra_groups=who.extra_groups,
        )
        if initdb.returncode != 0:
            pytest.fail(f"initdb failed ({initdb.returncode}):\n{initdb.stdout}{initdb.stderr}")
        (root / "sock").mkdir()
        who.chown(root / "sock")
        try:
            cluster.start()
            yield cluster
        finally:
            cluster.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the duration of the block."""
    with postgres_process() as cluster:
        yield cluster.server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole test session."""
    with running_postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database per test: ``postgresql+psycopg://postgres@127.0.0.1:<port>/<db>``."""
    dbname = f"test_{uuid.uuid4().hex[:16]}"
    url = postgres_server.create_database(dbname)
    yield url
    postgres_server.drop_database(dbname)
