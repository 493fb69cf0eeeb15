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
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage.relational.models import Episode
from storage.relational.sla_models import Silence

#: The Julian day of the Unix epoch, and the factors of SQLite's julianday() → epoch seconds.
_UNIX_EPOCH_JULIAN_DAY = 2440587.5
_MILLISECONDS_PER_DAY = 86_400_000.0
_MILLISECONDS_PER_SECOND = 1000.0
_HALF = 0.5

#: ``(device_id, code, started, ended or None while open)``.
EpisodeRow = tuple[str, str, float, float | None]


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


async def read_episodes(
    session: AsyncSession, *, start: datetime, end: datetime, device_ids: Collection[str] | None
) -> Sequence[EpisodeRow]:
    """Episodes overlapping ``[start, end)``, by device then start; every device when None."""
    dialect = _dialect(session)
    conditions = [
        Episode.started_at < end,
        or_(Episode.ended_at.is_(None), Episode.ended_at > start),
    ]
    if device_ids is not None:
        conditions.append(Episode.device_id.in_(sorted(device_ids)))
    query = (
        select(
            Episode.device_id,
            Episode.code,
            epoch_seconds(Episode.started_at, dialect),
            epoch_seconds(Episode.ended_at, dialect),
        )
        .where(and_(*conditions))
        .order_by(Episode.device_id, Episode.started_at)
    )
    # Core execution on the session's connection: the ORM's per-row loading is skipped, and the
    # rows (tuple-like) are handed on as they are instead of being copied.
    connection = await session.connection()
    rows = (await connection.execute(query)).all()
    return typing.cast(Sequence[EpisodeRow], rows)


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
