"""Open keys and insert-unless-open, atomic on SQLite and PostgreSQL.

A row that must exist once while something is open (an episode, an order, an incident's
device) carries an ``open_key`` in a unique column, NULL once it ends. ``INSERT … ON CONFLICT
DO NOTHING RETURNING …`` lets the database decide which of two concurrent replicas wins,
without an IntegrityError. A SAVEPOINT around a plain INSERT would do the same on PostgreSQL,
but the sqlite3 driver's legacy transaction handling runs a SAVEPOINT that opens the
transaction as the *outermost* one, so its RELEASE commits the whole transaction early — the
event's changes would no longer be atomic. The conflict clause has no such trap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from alerts.errors import UnsupportedDatabaseError
from alerts.orders import bulk
from storage.relational.models import Episode, WorkOrder

Keyed = TypeVar("Keyed", Episode, WorkOrder)


def open_key(device_id: str, code: str) -> str:
    """The ``open_key`` of a (device, fault code) while its episode or order is open."""
    return f"{device_id}:{code}"


def incident_key(building_id: str, code: str) -> str:
    """The ``open_key`` of a building's incident order while it is open."""
    return area_incident_key("building", building_id, code)


def area_incident_key(scope: str, area_id: str, code: str) -> str:
    """The ``open_key`` of a building, community or street incident order while it is open."""
    return f"{scope}:{area_id}:{code}"


def insert_skipping_conflicts(
    session: AsyncSession,
    model: type[Any],
    rows: Sequence[Mapping[str, Any]],
    *,
    unique: InstrumentedAttribute[Any],
) -> Any:
    """An ``INSERT`` of ``rows`` that skips those whose ``unique`` column is already taken."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        pg = postgresql.insert(model).values([dict(row) for row in rows])
        return pg.on_conflict_do_nothing(index_elements=[unique])
    if dialect == "sqlite":
        lite = sqlite.insert(model).values([dict(row) for row in rows])
        return lite.on_conflict_do_nothing(index_elements=[unique])
    raise UnsupportedDatabaseError(dialect)


async def insert_unless_open(
    session: AsyncSession, model: type[Keyed], values: Mapping[str, Any]
) -> Keyed | None:
    """Insert a row carrying ``values["open_key"]``; None when one with that key is open."""
    inserted = await insert_all_unless_open(session, model, [values])
    return inserted.get(values["open_key"])


async def insert_all_unless_open(
    session: AsyncSession, model: type[Keyed], rows: Sequence[Mapping[str, Any]]
) -> dict[str, Keyed]:
    """Insert rows of distinct ``open_key`` values; those inserted by open key (a key that is
    already open is left out)."""
    if not rows:
        return {}
    inserted = await bulk.insert_many_skipping_conflicts(
        session, model, rows, unique=model.open_key, returning=[model]
    )
    return {row.open_key: row for row in inserted.scalars() if row.open_key is not None}
