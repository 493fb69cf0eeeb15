"""The embedded store's file layout: time-partitioned chunk tables, rollups and retention.

Tables: ``series`` (an integer id per device and metric), ``latest`` (each series' newest
sample), ``chunks`` (which chunk tables exist) and one table per tier and chunk of time:
``raw_<n>`` holds points, ``m1_<n>`` per-minute and ``h1_<n>`` per-hour rollups (count, sum,
min, max) of chunk ``n`` (``[n * chunk, (n + 1) * chunk)`` in epoch microseconds). Raw chunks
are keyed by (time, series), so writes append; rollups by (series, time), so a series' history
is one range. A chunk table only ever holds one chunk of time, so its B-tree stays the size of
one chunk however long the history grows, and retention drops whole tables.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from enum import StrEnum

from storage.tsdb.options import HOUR_S, MINUTE_S, SECONDS_PER_DAY
from storage.tsdb.window import MICROS_PER_SECOND

MINUTE_US = MINUTE_S * MICROS_PER_SECOND
HOUR_US = HOUR_S * MICROS_PER_SECOND
DAY_US = SECONDS_PER_DAY * MICROS_PER_SECOND

# The largest finite double: NaN arrives as NULL and ±Inf falls outside, both refuse the batch.
_FINITE = "BETWEEN -1.7976931348623157e308 AND 1.7976931348623157e308"

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS tsdb_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
    " WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, device_id TEXT NOT NULL,"
    " metric TEXT NOT NULL, UNIQUE (device_id, metric))",
    "CREATE TABLE IF NOT EXISTS latest (series_id INTEGER PRIMARY KEY, ts_us INTEGER NOT NULL,"
    " value REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS chunks (tier TEXT NOT NULL, start_us INTEGER NOT NULL,"
    " name TEXT NOT NULL, PRIMARY KEY (tier, start_us)) WITHOUT ROWID",
)
#: The single table of the layout before chunks (read and migrated on open).
LEGACY_TABLE = "telemetry"


class Tier(StrEnum):
    """A kind of chunk table: raw points or one of the rollups."""

    RAW = "raw"
    MINUTE = "m1"
    HOUR = "h1"


#: The width of a rollup tier's buckets and the tier it is folded from.
ROLLUPS: dict[Tier, tuple[int, Tier]] = {
    Tier.MINUTE: (MINUTE_US, Tier.RAW),
    Tier.HOUR: (HOUR_US, Tier.MINUTE),
}

_RAW_COLUMNS = (
    "ts_us INTEGER NOT NULL, series_id INTEGER NOT NULL,"
    f" value REAL NOT NULL CHECK (value {_FINITE}), PRIMARY KEY (ts_us, series_id)"
)
_ROLLUP_COLUMNS = (
    "series_id INTEGER NOT NULL, bucket_us INTEGER NOT NULL, count INTEGER NOT NULL,"
    " sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, PRIMARY KEY (series_id, bucket_us)"
)


def chunk_name(tier: Tier, index: int) -> str:
    """The (quoted) table name of chunk ``index`` of ``tier``; ``n`` marks chunks before 1970."""
    return f'"{tier}_{"n" if index < 0 else ""}{abs(index)}"'


def floor_to(value: int, width: int) -> int:
    """``value`` rounded down to a multiple of ``width`` (also below zero)."""
    return value - value % width


@dataclass(frozen=True, slots=True)
class Layout:
    """The chunk width of one file, fixed when the file is created."""

    chunk_us: int

    def index(self, ts_us: int) -> int:
        """The chunk holding ``ts_us``."""
        return ts_us // self.chunk_us

    def indices(self, start_us: int, end_us: int) -> range:
        """The chunks overlapping ``[start_us, end_us)`` (empty for an empty window)."""
        if end_us <= start_us:
            return range(0)
        return range(self.index(start_us), self.index(end_us - 1) + 1)


def create_schema(connection: sqlite3.Connection, chunk_hours: int) -> Layout:
    """Create the fixed tables and return the file's layout (its stored chunk width wins)."""
    for statement in SCHEMA:
        connection.execute(statement)
    connection.execute(
        "INSERT OR IGNORE INTO tsdb_meta (key, value) VALUES ('chunk_us', ?)",
        (str(chunk_hours * HOUR_US),),
    )
    (stored,) = connection.execute("SELECT value FROM tsdb_meta WHERE key = 'chunk_us'").fetchone()
    return Layout(int(stored))


def read_layout(connection: sqlite3.Connection) -> Layout | None:
    """The layout of the file, or None while no writer has created it."""
    try:
        row = connection.execute("SELECT value FROM tsdb_meta WHERE key = 'chunk_us'").fetchone()
    except sqlite3.OperationalError:
        return None
    return Layout(int(row[0])) if row else None


def existing_chunks(connection: sqlite3.Connection) -> dict[Tier, set[int]]:
    """Every chunk table the file holds, by tier."""
    found: dict[Tier, set[int]] = {tier: set() for tier in Tier}
    for tier, start_us, chunk_us in connection.execute(
        "SELECT c.tier, c.start_us, CAST(m.value AS INTEGER) FROM chunks AS c, tsdb_meta AS m"
        " WHERE m.key = 'chunk_us'"
    ):
        found[Tier(tier)].add(start_us // chunk_us)
    return found


def create_chunk(connection: sqlite3.Connection, layout: Layout, tier: Tier, index: int) -> None:
    """Create one chunk table and register it (inside the caller's transaction)."""
    columns = _RAW_COLUMNS if tier is Tier.RAW else _ROLLUP_COLUMNS
    name = chunk_name(tier, index)
    connection.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns}) WITHOUT ROWID")
    connection.execute(
        "INSERT OR IGNORE INTO chunks (tier, start_us, name) VALUES (?, ?, ?)",
        (tier.value, index * layout.chunk_us, name.strip('"')),
    )


def drop_chunks_before(
    connection: sqlite3.Connection, layout: Layout, tier: Tier, cutoff_us: int, have: set[int]
) -> list[int]:
    """Drop the chunks of ``tier`` that end at or before ``cutoff_us``; the dropped indices."""
    dropped = sorted(index for index in have if (index + 1) * layout.chunk_us <= cutoff_us)
    for index in dropped:
        connection.execute(f"DROP TABLE IF EXISTS {chunk_name(tier, index)}")
        connection.execute(
            "DELETE FROM chunks WHERE tier = ? AND start_us = ?",
            (tier.value, index * layout.chunk_us),
        )
    return dropped


def spans(starts: list[int], width: int, chunk_us: int) -> list[tuple[int, int]]:
    """Sorted bucket starts merged into ``[start, end)`` runs that never cross a chunk."""
    runs: list[tuple[int, int]] = []
    for start in starts:
        if runs and runs[-1][1] == start and start % chunk_us:
            runs[-1] = (runs[-1][0], start + width)
        else:
            runs.append((start, start + width))
    return runs


def _bucket(column: str) -> str:
    # floor(column / :width) * :width, also below zero (SQLite's % truncates).
    return f"({column} - (({column} % :width) + :width) % :width)"


_UPSERT_LATEST = (
    "INSERT INTO latest (series_id, ts_us, value) "
    "SELECT series_id, max(ts_us), value FROM {raw} WHERE ts_us >= :start AND ts_us < :end "
    "GROUP BY series_id "
    "ON CONFLICT (series_id) DO UPDATE SET ts_us = excluded.ts_us, value = excluded.value "
    "WHERE excluded.ts_us >= latest.ts_us"
)


def fold_minutes(connection: sqlite3.Connection, index: int, start: int, end: int) -> None:
    """Recompute the minute buckets of ``[start, end)`` (whole minutes of chunk ``index``) from
    the raw chunk, one contiguous range of it, and the ``latest`` values they hold."""
    raw = chunk_name(Tier.RAW, index)
    window = {"start": start, "end": end, "width": MINUTE_US}
    connection.execute(
        f"INSERT OR REPLACE INTO {chunk_name(Tier.MINUTE, index)} "
        "(series_id, bucket_us, count, sum, min, max) "
        f"SELECT series_id, {_bucket('ts_us')} AS bucket, count(*), sum(value), min(value),"
        f" max(value) FROM {raw} WHERE ts_us >= :start AND ts_us < :end "
        "GROUP BY series_id, bucket",
        window,
    )
    # The bare `value` comes from the row holding max(ts_us) (SQLite's documented rule).
    connection.execute(_UPSERT_LATEST.format(raw=raw), window)


def fold_hours(connection: sqlite3.Connection, index: int, start: int, end: int) -> None:
    """Recompute the hour buckets of ``[start, end)`` from the minute rollups: one seek per
    series (CROSS JOIN keeps the series table outside)."""
    connection.execute(
        f"INSERT OR REPLACE INTO {chunk_name(Tier.HOUR, index)} "
        "(series_id, bucket_us, count, sum, min, max) "
        f"SELECT m.series_id, {_bucket('m.bucket_us')} AS bucket, sum(m.count), sum(m.sum),"
        f" min(m.min), max(m.max) FROM series AS s CROSS JOIN {chunk_name(Tier.MINUTE, index)}"
        " AS m ON m.series_id = s.id AND m.bucket_us >= :start AND m.bucket_us < :end "
        "GROUP BY m.series_id, bucket",
        {"start": start, "end": end, "width": HOUR_US},
    )


def fold_whole_chunk(connection: sqlite3.Connection, tier: Tier, index: int) -> None:
    """Build every ``tier`` bucket of chunk ``index`` from the tier below (migration)."""
    width, source = ROLLUPS[tier]
    target, origin = chunk_name(tier, index), chunk_name(source, index)
    if source is Tier.RAW:
        reduce, time_column = "count(*), sum(value), min(value), max(value)", "ts_us"
        connection.execute(_UPSERT_LATEST.format(raw=origin), {"start": -(2**63), "end": 2**63 - 1})
    else:
        reduce, time_column = "sum(count), sum(sum), min(min), max(max)", "bucket_us"
    connection.execute(
        f"INSERT OR REPLACE INTO {target} (series_id, bucket_us, count, sum, min, max) "
        f"SELECT series_id, {_bucket(time_column)} AS bucket, {reduce} FROM {origin} "
        "GROUP BY series_id, bucket",
        {"width": width},
    )


def legacy_rows(connection: sqlite3.Connection) -> sqlite3.Cursor:
    """The points of the single-table layout as ``(ts_us, series_id, value)`` rows, after giving
    each of its series an id."""
    connection.execute(
        f"INSERT OR IGNORE INTO series (device_id, metric) "
        f"SELECT DISTINCT device_id, metric FROM {LEGACY_TABLE}"
    )
    return connection.execute(
        f"SELECT t.ts_us, s.id, t.value FROM {LEGACY_TABLE} AS t "
        "JOIN series AS s ON s.device_id = t.device_id AND s.metric = t.metric"
    )


def has_legacy_table(connection: sqlite3.Connection) -> bool:
    """True when the file still holds the single-table layout."""
    row = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (LEGACY_TABLE,)
    ).fetchone()
    return row is not None
