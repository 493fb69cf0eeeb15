"""Insert-unless-open on the ``open_key`` unique columns, atomic on SQLite and PostgreSQL.

``INSERT … ON CONFLICT (open_key) DO NOTHING RETURNING …`` lets the database decide which of
two concurrent replicas wins, without an IntegrityError. A SAVEPOINT around a plain INSERT
would do the same on PostgreSQL, but the sqlite3 driver's legacy transaction handling runs a
SAVEPOINT that opens the transaction as the *outermost* one, so its RELEASE commits the
whole transaction early — the event's changes would no longer be atomic. The conflict clause
has no such trap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import UnsupportedDatabaseError
from storage.relational.models import Episode, WorkOrder

Keyed = TypeVar("Keyed", Episode, WorkOrder)


def open_key(device_id: str, code: str) -> str:
    """The ``open_key`` of a (device, fault code) while its episode or order is open."""
    return f"{device_id}:{code}"


async def insert_unless_open(
    session: AsyncSession, model: type[Keyed], values: Mapping[str, Any]
) -> Keyed | None:
    """Insert a row carrying ``values["open_key"]``; None when one with that key is open."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        pg = postgresql.insert(model).values(dict(values))
        statement: Any = pg.on_conflict_do_nothing(index_elements=[model.open_key])
    elif dialect == "sqlite":
        lite = sqlite.insert(model).values(dict(values))
        statement = lite.on_conflict_do_nothing(index_elements=[model.open_key])
    else:
        raise UnsupportedDatabaseError(dialect)
    inserted: Keyed | None = await session.scalar(statement.returning(model))
    return inserted
