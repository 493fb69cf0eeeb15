"""Alembic migrations on SQLite and a real PostgreSQL: schema == models, idempotent, reversible."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.relational.db import create_engine, session_factory
from storage.relational.migrate import (
    MigrationError,
    current_revisions,
    downgrade_database,
    head_revisions,
    schema_is_current,
    upgrade_database,
)
from storage.relational.models import Episode, OrderStatus, WorkOrder
from storage.relational.schema import metadata

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)],
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each supported kind."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'fm.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The service's own engine on the migrated database."""
    await upgrade_database(database_url)
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


def _schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migrated_schema_matches_the_models(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        diff = await connection.run_sync(_schema_diff)
    assert diff == []


async def test_migrated_schema_has_the_keys_the_service_relies_on(engine: AsyncEngine) -> None:
    def describe(connection: Connection) -> dict[str, Any]:
        inspector = inspect(connection)
        return {
            "unique": {
                table: {
                    c["name"]: c["column_names"] for c in inspector.get_unique_constraints(table)
                }
                for table in ("work_orders", "episodes")
            },
            "fks": inspector.get_foreign_keys("episodes"),
            # PostgreSQL also lists the unique constraints' own indexes; leave those out.
            "indexes": {
                i["name"]
                for table in ("work_orders", "episodes")
                for i in inspector.get_indexes(table)
                if "duplicates_constraint" not in i
            },
            "version": {c["name"]: c for c in inspector.get_columns("work_orders")}["version"],
        }

    async with engine.connect() as connection:
        schema = await connection.run_sync(describe)
    assert schema["unique"]["work_orders"] == {"uq_work_orders_open_key": ["open_key"]}
    assert schema["unique"]["episodes"] == {"uq_episodes_open_key": ["open_key"]}
    assert [(fk["name"], fk["referred_table"]) for fk in schema["fks"]] == [
        ("fk_episodes_work_order_id_work_orders", "work_orders")
    ]
    assert schema["indexes"] == {
        "ix_work_orders_ack_due_at",
        "ix_work_orders_resolve_due_at",
        "ix_work_orders_device_id",
        "ix_work_orders_status",
        "ix_work_orders_grid_id",
        "ix_work_orders_team_id",
        "ix_episodes_device_started",
        "ix_episodes_page_due_at",  # the grouping decision's due held pages
        "ix_episodes_history",  # the uptime reports' history read (covering)
    }
    assert schema["version"]["nullable"] is False


async def test_upgrade_is_idempotent(database_url: str) -> None:
    assert current_revisions(database_url) == ()
    await upgrade_database(database_url)
    await upgrade_database(database_url)
    assert current_revisions(database_url) == head_revisions()


async def test_downgrade_to_base_and_back(database_url: str) -> None:
    await upgrade_database(database_url)
    await downgrade_database(database_url, "base")
    assert current_revisions(database_url) == ()
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_table_names) == {"alembic_version"}
        await upgrade_database(database_url)
        async with engine.connect() as connection:
            # Every table of every model module (each domain's migration branch included).
            assert await connection.run_sync(_table_names) == {"alembic_version", *metadata.tables}
    finally:
        await engine.dispose()


@pytest.mark.parametrize("older", ["0003_lifecycle", "base"])
async def test_an_upgrade_to_an_older_revision_is_refused_and_changes_nothing(
    database_url: str, older: str
) -> None:
    await upgrade_database(database_url)
    with pytest.raises(MigrationError, match="an upgrade never goes back"):
        await upgrade_database(database_url, older)
    assert current_revisions(database_url) == head_revisions()


async def test_the_schema_is_current_only_at_the_shipped_heads(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        states = []
        for step in (None, "0003_lifecycle", "heads"):
            if step is not None:
                await upgrade_database(database_url, step)
            async with engine.connect() as connection:
                states.append(await connection.run_sync(schema_is_current))
    finally:
        await engine.dispose()
    assert states == [False, False, True]


def _order(open_key: str | None, *, device_id: str = "light-1") -> WorkOrder:
    return WorkOrder(
        device_id=device_id,
        fault_code="lamp_failure",
        severity="minor",
        building_id="b1",
        grid_id="g1",
        community_id="c1",
        team_id="t1",
        open_key=open_key,
        created_at=NOW,
        updated_at=NOW,
    )


async def test_open_key_rejects_a_second_open_order_for_the_same_fault(
    engine: AsyncEngine,
) -> None:
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        session.add(_order("light-1:lamp_failure"))
    async with sessions() as session:
        session.add(_order("light-1:lamp_failure"))
        with pytest.raises(IntegrityError):
            await session.commit()
    # Closing the first order frees the key; closed orders (NULL keys) may pile up.
    async with sessions() as session, session.begin():
        first = (await session.execute(select(WorkOrder))).scalar_one()
        first.status = OrderStatus.CLOSED.value
        first.open_key = None
    async with sessions() as session, session.begin():
        session.add(_order("light-1:lamp_failure"))
        session.add(_order(None))
    async with sessions() as session:
        orders = (await session.execute(select(WorkOrder).order_by(WorkOrder.id))).scalars().all()
    # A plain ORM edit leaves the version alone: only alerts.orders.versioned bumps it.
    assert [(o.open_key, o.version) for o in orders] == [
        (None, 1),
        ("light-1:lamp_failure", 1),
        (None, 1),
    ]
    assert orders[0].created_at == NOW


async def test_open_key_rejects_a_second_open_episode_and_fk_holds(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)

    def episode(open_key: str | None, work_order_id: int | None = None) -> Episode:
        return Episode(
            device_id="pipe-1",
            code="leak",
            severity="major",
            source="rule",
            started_at=NOW,
            open_key=open_key,
            work_order_id=work_order_id,
        )

    async with sessions() as session, session.begin():
        session.add(episode("pipe-1:leak"))
    async with sessions() as session:
        session.add(episode("pipe-1:leak"))
        with pytest.raises(IntegrityError):
            await session.commit()
    async with sessions() as session:
        session.add(episode(None, work_order_id=424242))
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_sqlite_parent_directory_is_created(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "there" / "fm.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    assert current_revisions(url) == ()
    assert not path.parent.exists()  # reading the revision creates nothing
    await upgrade_database(url)
    assert path.is_file()
    assert current_revisions(url) == head_revisions()


async def test_unreachable_database_raises_migration_error_without_password() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg://fm:s3cret@127.0.0.1:{port}/fm"
    with pytest.raises(MigrationError) as caught:
        await upgrade_database(url)
    assert "s3cret" not in str(caught.value)
    assert f"127.0.0.1:{port}" in caught.value.url


def test_unsupported_database_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database"):
        current_revisions("mysql://fm@localhost/fm")
