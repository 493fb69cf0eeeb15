"""Alembic environment: runs on the connection handed over by storage.relational.migrate.

`upgrade_database` opens an async engine and calls Alembic inside ``connection.run_sync``,
passing the sync-facing connection in ``config.attributes``; nothing here reads a global URL.
For authoring revisions by hand (``alembic -c storage/relational/alembic.ini revision …``)
the URL comes from ``-x url=…`` or ``FM_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from storage.relational.schema import metadata

CONNECTION_ATTRIBUTE = "connection"

target_metadata = metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode recreates the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url_from_command_line() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("FM_DATABASE_URL")
    if not url:
        raise RuntimeError("pass the database with `-x url=…` or FM_DATABASE_URL")
    return url


async def _run_with_own_engine(url: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_configure_and_run)
    finally:
        await engine.dispose()


def run() -> None:
    """Entry point Alembic calls for every command."""
    connection = context.config.attributes.get(CONNECTION_ATTRIBUTE)
    if connection is not None:
        _configure_and_run(connection)
    elif context.is_offline_mode():
        url = _url_from_command_line()
        context.configure(
            url=url,
            target_metadata=target_metadata,
            literal_binds=True,
            render_as_batch=url.startswith("sqlite"),
        )
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(_run_with_own_engine(_url_from_command_line()))


run()
