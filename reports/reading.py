"""Bulk reads of the history the reports need: one query per table, times as epoch seconds.

Converting times in SQL (not in Python per row) is what keeps a year of episodes fast to read:
the database hands back plain floats, and the sweep in :mod:`reports.uptime` never parses text.
"""

from __future__ import annotations

import typing
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Double, Integer, and_, cast, extract, func, or_, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.relational.models import Episode
from storage.relational.sla_models import Silence

#: The Julian day of the Unix epoch, and the factors of SQLite's julianday() → epoch seconds.
_UNIX_EPOCH_JULIAN_DAY = 2440587.5
_MILLISECONDS_PER_DAY = 86_400_000.0
_MILLISECONDS_PER_SECOND = 1000.0
_HALF = 0.5

#: ``(device_id, started, ended or None while open)``: what the uptime sweep reads.
EpisodeRow = tuple[str, float, float | None]
#: ``(device_id, code, started, ended or None)``: read only for the outages an answer lists.
CodedEpisode = tuple[str, str, float, float | None]


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """A silence: what it covers (device, building or grid) and when, in epoch seconds."""

    kind: str
    scope_id: str
    start: float
    end: float


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def epoch_seconds(
    column: InstrumentedAttribute[datetime] | InstrumentedAttribute[datetime | None],
    dialect: str,
) -> ColumnElement[float]:
    """``column`` as seconds since the epoch, computed by the database."""
    if dialect == "sqlite":
        # UtcDateTime stores UTC text on SQLite; julianday() is a float of days, exact to some
        # ten microseconds, so the seconds are rounded to whole milliseconds (adding a half and
        # truncating costs far less than round() over a year of rows).
        milliseconds = (func.julianday(column) - _UNIX_EPOCH_JULIAN_DAY) * _MILLISECONDS_PER_DAY
        whole = cast(milliseconds + _HALF, Integer)
        return cast(whole / _MILLISECONDS_PER_SECOND, Double)
    return cast(extract("epoch", column), Double)


#: The street-wide read, written per database and run on the driver's own connection: through
#: SQLAlchemy's async adapter the same 240,000 rows cost three times as long (measured in
#: benchmarks/reports.py; docs/reports.md). Times come back as epoch seconds; see epoch_seconds().
_EPISODES_SQL = {
    "sqlite": (
        "SELECT device_id,"
        " CAST((julianday(started_at) - 2440587.5) * 86400000.0 + 0.5 AS INTEGER) / 1000.0,"
        " CAST((julianday(ended_at) - 2440587.5) * 86400000.0 + 0.5 AS INTEGER) / 1000.0"
        " FROM episodes WHERE started_at < ? AND (ended_at IS NULL OR ended_at > ?)"
        " ORDER BY device_id, started_at"
    ),
    "postgresql": (
        "SELECT device_id,"
        " CAST(EXTRACT(EPOCH FROM started_at) AS DOUBLE PRECISION),"
        " CAST(EXTRACT(EPOCH FROM ended_at) AS DOUBLE PRECISION)"
        " FROM episodes WHERE started_at < %s AND (ended_at IS NULL OR ended_at > %s)"
        " ORDER BY device_id, started_at"
    ),
}


async def read_episodes(
    session: AsyncSession, *, start: datetime, end: datetime, device_ids: Collection[str] | None
) -> Sequence[EpisodeRow]:
    """Episodes overlapping ``[start, end)``, by device then start; every device when None.

    Codes are left out: the sweep does not need them, and a year street-wide is some 240,000
    rows, so every column counts (:func:`read_codes` fetches them for the listed outages).
    """
    connection = await session.connection()
    dialect = connection.dialect
    if device_ids is None and dialect.name in _EPISODES_SQL:
        return await _read_all_episodes(connection, dialect, start=start, end=end)
    conditions = _overlapping(start, end)
    if device_ids is not None:
        conditions.append(Episode.device_id.in_(sorted(device_ids)))
    query = (
        select(
            Episode.device_id,
            epoch_seconds(Episode.started_at, dialect.name),
            epoch_seconds(Episode.ended_at, dialect.name),
        )
        .where(and_(*conditions))
        .order_by(Episode.device_id, Episode.started_at)
    )
    # Core execution: the ORM's per-row loading is skipped and the tuple-like rows handed on.
    rows = (await connection.execute(query)).all()
    return typing.cast(Sequence[EpisodeRow], rows)


async def _read_all_episodes(
    connection: AsyncConnection, dialect: Dialect, *, start: datetime, end: datetime
) -> Sequence[EpisodeRow]:
    # The same bound values SQLAlchemy would send (UTC text on SQLite), on the same connection
    # and so inside the session's transaction.
    to_store = Episode.__table__.c.started_at.type.dialect_impl(dialect).bind_processor(dialect)
    params = [to_store(end), to_store(start)] if to_store else [end, start]
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None, "a pooled connection always has its driver connection"
    if dialect.name == "sqlite":
        cursor = await driver.execute(_EPISODES_SQL["sqlite"], params)
        try:
            rows = await cursor.fetchall()
        finally:
            await cursor.close()
    else:
        async with driver.cursor(binary=True) as cursor:
            await cursor.execute(_EPISODES_SQL["postgresql"], params)
            rows = await cursor.fetchall()
    return typing.cast(Sequence[EpisodeRow], rows)


async def read_codes(
    session: AsyncSession, *, start: datetime, end: datetime, device_ids: Collection[str]
) -> Sequence[CodedEpisode]:
    """Episodes of some devices overlapping ``[start, end]``, with their codes."""
    dialect = _dialect(session)
    conditions = [
        Episode.started_at <= end,
        or_(Episode.ended_at.is_(None), Episode.ended_at >= start),
        Episode.device_id.in_(sorted(device_ids)),
    ]
    query = select(
        Episode.device_id,
        Episode.code,
        epoch_seconds(Episode.started_at, dialect),
        epoch_seconds(Episode.ended_at, dialect),
    ).where(and_(*conditions))
    rows = (await (await session.connection()).execute(query)).all()
    return typing.cast(Sequence[CodedEpisode], rows)


def _overlapping(start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    return [Episode.started_at < end, or_(Episode.ended_at.is_(None), Episode.ended_at > start)]


async def read_maintenance(
    session: AsyncSession, *, start: datetime, end: datetime
) -> list[MaintenanceWindow]:
    """Silences overlapping ``[start, end)`` (a small table), oldest start first."""
    query = (
        select(Silence.scope_kind, Silence.scope_id, Silence.starts_at, Silence.ends_at)
        .where(Silence.starts_at < end, Silence.ends_at > start)
        .order_by(Silence.starts_at, Silence.id)
    )
    rows = await session.execute(query)
    return [
        MaintenanceWindow(kind.value, scope_id, starts.timestamp(), ends.timestamp())
        for kind, scope_id, starts, ends in rows
    ]
