"""Apply and inspect the relational schema migrations (Alembic, configured programmatically)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

#: Key under which env.py finds the open connection in ``Config.attributes``.
CONNECTION_ATTRIBUTE = "connection"

#: Arbitrary but fixed key of the PostgreSQL advisory lock that serialises concurrent upgrades
#: (several replicas starting at once must not both run the same DDL).
MIGRATION_LOCK_KEY = 0x666D5F6D6967  # "fm_mig"

# Synchronous drivers for `current_revision`, which must work outside an event loop.
_SYNC_DRIVERS = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}

_AlembicCommand = Callable[[Config], None]


class MigrationError(Exception):
    """A migration could not be applied or inspected; carries the URL without password."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(f"{url}: {message}")
        self.url = url


class BackwardsUpgradeError(Exception):
    """An upgrade was asked for a revision older than the database's (a downgrade is needed)."""


def alembic_config() -> Config:
    """An Alembic config pointing at the bundled migrations; no ini file is read."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@functools.cache
def head_revisions() -> tuple[str, ...]:
    """The newest revisions shipped with this version of the code (one per branch), sorted."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if not heads:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return tuple(sorted(heads))


def schema_is_current(connection: Connection) -> bool:
    """True when the database is at exactly the revisions this code ships (run via ``run_sync``).

    An empty database, one a release behind, or one migrated by newer code is not current: the
    service's queries expect the schema of its own migrations.
    """
    current = tuple(sorted(MigrationContext.configure(connection).get_current_heads()))
    return current == head_revisions()


def stamp_heads(connection: Connection) -> None:
    """Record the shipped revisions as applied, for a schema built from the models directly."""
    MigrationContext.configure(connection).stamp(
        ScriptDirectory.from_config(alembic_config()), "heads"
    )


async def upgrade_database(url: str, revision: str = "heads") -> None:
    """Bring the database at ``url`` up to ``revision``; a no-op when it is already there.

    Raises :class:`MigrationError` when ``revision`` is older than the database: Alembic would
    silently do nothing, and an upgrade must never be mistaken for a roll-back.
    """
    await _run_command(url, lambda config: _upgrade_forward(config, revision))


async def downgrade_database(url: str, revision: str) -> None:
    """Take the database at ``url`` back to ``revision`` (``"base"`` drops every table)."""
    await _run_command(url, lambda config: command.downgrade(config, revision))


def current_revisions(url: str) -> tuple[str, ...]:
    """The revisions the database is at, sorted; empty for an empty (or missing SQLite) database."""
    sa_url = _normalise(url, _SYNC_DRIVERS)
    if sa_url.get_backend_name() == "sqlite":
        path = _sqlite_path(sa_url)
        if path is not None and not path.exists():
            return ()
    engine = create_sync_engine(sa_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))
    except Exception as exc:
        raise MigrationError(f"cannot read the schema revision: {exc}", url=_safe(sa_url)) from exc
    finally:
        engine.dispose()


async def _run_command(url: str, run: _AlembicCommand) -> None:
    sa_url = _normalise(url, _ASYNC_DRIVERS)
    if sa_url.get_backend_name() == "sqlite":
        path = _sqlite_path(sa_url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
    # A private engine: NullPool leaves nothing open behind, and on SQLite it deliberately
    # skips `PRAGMA foreign_keys=ON` so batch mode may copy and drop referenced tables.
    engine = create_async_engine(sa_url, poolclass=NullPool)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_wal)
    config = alembic_config()
    try:
        async with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            await connection.run_sync(_with_connection, config, run)
    except BackwardsUpgradeError as exc:
        raise MigrationError(str(exc), url=_safe(sa_url)) from exc
    except Exception as exc:
        raise MigrationError(f"migration failed: {exc}", url=_safe(sa_url)) from exc
    finally:
        await engine.dispose()


def _upgrade_forward(config: Config, revision: str) -> None:
    connection: Connection = config.attributes[CONNECTION_ATTRIBUTE]
    current = MigrationContext.configure(connection).get_current_heads()
    behind = _strictly_older(ScriptDirectory.from_config(config), current, revision)
    if behind:
        raise BackwardsUpgradeError(
            f"the database is at {', '.join(sorted(current))}, which is newer than {revision}; "
            f"an upgrade never goes back; to roll back, downgrade (`fm db downgrade {revision}`)"
        )
    command.upgrade(config, revision)


def _strictly_older(script: ScriptDirectory, current: Sequence[str], revision: str) -> bool:
    """True when ``revision`` lies below what the database is at (an upgrade would do nothing)."""
    if not current:
        return False
    targets = {target.revision for target in script.get_revisions(revision) if target is not None}
    if not targets:
        return True  # "base": below any revision
    below_current = {
        older.revision
        for head in current
        for older in script.iterate_revisions(head, "base")
        if older.revision not in current
    }
    return bool(targets & below_current)


def _with_connection(connection: Connection, config: Config, run: _AlembicCommand) -> None:
    config.attributes[CONNECTION_ATTRIBUTE] = connection
    run(config)


def _normalise(url: str, drivers: dict[str, str]) -> URL:
    sa_url = make_url(url)
    backend = sa_url.get_backend_name()
    if backend not in drivers:
        raise ValueError(f"unsupported database {backend!r}: use SQLite or PostgreSQL")
    return sa_url.set(drivername=drivers[backend])


def _sqlite_path(sa_url: URL) -> Path | None:
    database = sa_url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _safe(sa_url: URL) -> str:
    return sa_url.render_as_string(hide_password=True)


def _sqlite_wal(dbapi_connection: object, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
