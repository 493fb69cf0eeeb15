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

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from alerts.errors import UnsupportedDatabaseError
from storage.relational.models import Episode, WorkOrder

Keyed = TypeVar("Keyed", Episode, WorkOrder)
Row = TypeVar("Row", bound=Mapping[str, Any])

#: Bound parameters one statement may carry: SQLite's limit (32,766 since 3.32) is the lower of
#: the two databases' (PostgreSQL allows 65,535), so a multi-row INSERT is cut to fit it.
MAX_STATEMENT_PARAMETERS = 32_766


def open_key(device_id: str, code: str) -> str:
    """The ``open_key`` of a (device, fault code) while its episode or order is open."""
    return f"{device_id}:{code}"


def incident_key(building_id: str, code: str) -> str:
    """The ``open_key`` of a building's incident order while it is open."""
    return f"building:{building_id}:{code}"


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


def statement_chunks(rows: Sequence[Row]) -> Iterator[Sequence[Row]]:
    """``rows`` in consecutive slices small enough for one multi-row statement each."""
    if not rows:
        return
    per_statement = max(1, MAX_STATEMENT_PARAMETERS // max(1, len(rows[0])))
    for start in range(0, len(rows), per_statement):
        yield rows[start : start + per_statement]


async def insert_unless_open(
    session: AsyncSession, model: type[Keyed], values: Mapping[str, Any]
) -> Keyed | None:
    """Insert a row carrying ``values["open_key"]``; None when one with that key is open."""
    inserted = await insert_all_unless_open(session, model, [values])
    return inserted.get(values["open_key"])


async def insert_all_unless_open(
    session: AsyncSession, model: type[Keyed], rows: Sequence[Mapping[str, Any]]
) -> dict[str, Keyed]:
    """Insert rows with distinct ``open_key`` values in as few statements as fit; the rows
    inserted by open key (a key that is already open is left out)."""
    inserted: dict[str, Keyed] = {}
    for chunk in statement_chunks(rows):
        statement = insert_skipping_conflicts(session, model, chunk, unique=model.open_key)
        for row in await session.scalars(statement.returning(model)):
            assert row.open_key is not None  # every row inserted here carries its key
            inserted[row.open_key] = row
    return inserted
