"""``INSERT … ON CONFLICT DO NOTHING RETURNING …`` of many rows at once, fast on both databases.

A fault storm inserts hundreds of episodes, orders and outbox rows per transaction. On SQLite
they go as an executemany, which SQLAlchemy sends as a few multi-row statements
("insertmanyvalues"). On PostgreSQL a multi-row VALUES list costs the server a bound parameter
per value to parse and plan (hundreds of milliseconds for a storm); instead each column goes as
ONE array parameter and ``unnest`` turns the arrays back into rows: a statement of constant
size, planned in microseconds and cached by SQLAlchemy whatever the number of rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, cast

from sqlalchemy import Column, Result, Table, bindparam, func, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from alerts.errors import UnsupportedDatabaseError

#: Options of an executemany INSERT through the ORM: a NULL value is sent, not left out, so
#: every row has the same columns and all of them go in one batch instead of one statement
#: per change of shape.
_ALL_COLUMNS: Mapping[str, Any] = MappingProxyType({"render_nulls": True})


async def insert_many_skipping_conflicts(
    session: AsyncSession,
    target: type[Any] | Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    unique: InstrumentedAttribute[Any] | Column[Any],
    returning: Sequence[Any],
) -> Result[Any]:
    """Insert ``rows`` (all with the same keys) into ``target`` (a mapped class or a table),
    skipping those whose ``unique`` column is taken; the result of ``RETURNING *returning``
    for the rows inserted."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement = _from_arrays(target, rows).on_conflict_do_nothing(index_elements=[unique])
        result: Result[Any] = await session.execute(statement.returning(*returning))
        return result
    if dialect == "sqlite":
        statement = sqlite.insert(target).on_conflict_do_nothing(index_elements=[unique])
        options = {} if isinstance(target, Table) else _ALL_COLUMNS
        result = await session.execute(
            statement.returning(*returning), [dict(row) for row in rows], execution_options=options
        )
        return result
    raise UnsupportedDatabaseError(dialect)


def _from_arrays(target: type[Any] | Table, rows: Sequence[Mapping[str, Any]]) -> Any:
    """``INSERT INTO target (a, b …) SELECT * FROM unnest(:a_values, :b_values …)``."""
    table = target if isinstance(target, Table) else cast(Table, target.__table__)
    names = list(rows[0])
    arrays = []
    for name in names:
        array_type = postgresql.ARRAY(table.c[name].type)
        values = bindparam(f"{name}_values", [row[name] for row in rows], type_=array_type)
        arrays.append(sql_cast(values, array_type))  # the element type for the server
    derived = func.unnest(*arrays).table_valued(*names).render_derived()
    return postgresql.insert(target).from_select(names, select(*(derived.c[n] for n in names)))
