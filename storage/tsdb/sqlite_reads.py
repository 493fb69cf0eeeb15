"""The embedded store's reads: SQL over the chunk tables that overlap a window.

Every read runs in one read transaction, so the list of chunks and their contents come from the
same snapshot even while retention drops a chunk (WAL readers keep their snapshot).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from storage.tsdb.port import Aggregate
from storage.tsdb.sqlite_layout import HOUR_US, MINUTE_US, Layout, Tier, chunk_name, floor_to
from storage.tsdb.window import ReadWindow

#: Devices per ``latest`` statement, well below SQLite's bound-parameter limit.
LATEST_CHUNK = 500

# floor(ts / every) * every, written so it also floors before 1970 (SQLite's % truncates).
_BUCKET = "(ts_us - ((ts_us % :every) + :every) % :every)"
#: Chunk parts per compound SELECT, below SQLite's limit of 500 terms.
UNION_BATCH = 250
_REDUCE: dict[Aggregate, Callable[[int, float, float, float], float]] = {
    Aggregate.MEAN: lambda count, total, low, high: total / count,
    Aggregate.MIN: lambda count, total, low, high: low,
    Aggregate.MAX: lambda count, total, low, high: high,
    Aggregate.SUM: lambda count, total, low, high: total,
    Aggregate.COUNT: lambda count, total, low, high: float(count),
}
_RAW_PART = (
    "SELECT ts_us, value FROM {table} "
    "WHERE series_id = :series AND ts_us >= {start} AND ts_us < {end}"
)
# Raw points and rollup buckets as one shape: (time, count, sum, min, max).
_RAW_AS_BUCKET = (
    "SELECT ts_us, 1 AS n, value AS total, value AS low, value AS high FROM {table} "
    "WHERE series_id = :series AND ts_us >= {start} AND ts_us < {end}"
)
_ROLLUP_AS_BUCKET = (
    "SELECT bucket_us AS ts_us, count AS n, sum AS total, min AS low, max AS high FROM {table} "
    "WHERE series_id = :series AND bucket_us >= {start} AND bucket_us < {end}"
)
_SELECT_LATEST = (
    "SELECT s.device_id, s.metric, l.ts_us, l.value FROM series AS s "
    "JOIN latest AS l ON l.series_id = s.id WHERE s.device_id IN ({wanted})"
)


@contextmanager
def snapshot(connection: sqlite3.Connection) -> Iterator[None]:
    """One read transaction around the statements inside."""
    connection.execute("BEGIN")
    try:
        yield
    finally:
        connection.execute("COMMIT")


def series_id(connection: sqlite3.Connection, device_id: str, metric: str) -> int | None:
    """The id of one series, None when nothing was ever written to it."""
    row = connection.execute(
        "SELECT id FROM series WHERE device_id = ? AND metric = ?", (device_id, metric)
    ).fetchone()
    return None if row is None else int(row[0])


def chunk_tables(
    connection: sqlite3.Connection, layout: Layout, tier: Tier, start_us: int, end_us: int
) -> list[str]:
    """The tables of ``tier`` that overlap ``[start_us, end_us)``, oldest first."""
    if end_us <= start_us:
        return []
    rows = connection.execute(
        "SELECT start_us FROM chunks WHERE tier = ? AND start_us >= ? AND start_us < ? "
        "ORDER BY start_us",
        (tier.value, floor_to(start_us, layout.chunk_us), end_us),
    ).fetchall()
    return [chunk_name(tier, start // layout.chunk_us) for (start,) in rows]


def select_points(
    connection: sqlite3.Connection, layout: Layout, series: int, window: ReadWindow
) -> list[tuple[int, float]]:
    """Raw points, or one aggregate over the window or its buckets (``read``)."""
    parts = _parts(connection, layout, Tier.RAW, window.start_us, window.end_us, _RAW_PART)
    params: dict[str, object] = {"series": series, "start": window.start_us}
    if window.aggregate is None:
        # Chunks are disjoint in time and listed oldest first: their rows concatenate in order.
        head = "SELECT ts_us, value FROM ({source}) ORDER BY ts_us"
        return [
            (int(ts), float(value)) for ts, value in _each_batch(connection, parts, head, params)
        ]
    bucket = ":start"
    if window.every_us is not None:
        params["every"] = window.every_us
        bucket = _BUCKET
    if window.aggregate is Aggregate.LAST:
        newest: dict[int, tuple[int, float]] = {}
        head = f"SELECT {bucket} AS bucket, max(ts_us), value FROM ({{source}}) GROUP BY bucket"
        for key, ts, value in _each_batch(connection, parts, head, params):
            if key not in newest or ts >= newest[key][0]:
                newest[key] = (ts, value)
        return sorted((key, float(value)) for key, (_, value) in newest.items())
    head = (
        f"SELECT {bucket} AS bucket, count(value), sum(value), min(value), max(value) "
        "FROM ({source}) GROUP BY bucket"
    )
    reduce = _REDUCE[window.aggregate]
    return [
        (key, reduce(count, total, low, high))
        for key, count, total, low, high in _merged(_each_batch(connection, parts, head, params))
    ]


def rollup_width(every_us: int) -> int | None:
    """The widest rollup whose buckets tile ``every_us`` exactly, else the widest no wider
    than ``every_us`` (None: use raw points).

    Tiled buckets are exact; otherwise a rollup bucket that straddles a bucket boundary counts
    wholly in the bucket holding its start (at most one rollup width off at each edge).
    """
    widths = (HOUR_US, MINUTE_US)
    for width in widths:
        if every_us % width == 0:
            return width
    return next((width for width in widths if every_us >= width), None)


def select_buckets(
    connection: sqlite3.Connection, layout: Layout, series: int, window: ReadWindow
) -> list[tuple[int, int, float, float, float]]:
    """``(bucket, count, sum, min, max)`` per bucket: the whole rollup buckets inside the window
    from the widest rollup that suits the bucket width, the ragged edges from the next
    narrower tier, raw points only for less than a minute at each end."""
    every_us = window.every_us
    if every_us is None:
        raise ValueError("bucketed reads need every_us")
    width = rollup_width(every_us)
    tiers = [(w, tier) for w, tier in _ROLLUP_TIERS if width is not None and w <= width]
    parts = [
        _parts(connection, layout, tier, start, end, _TEMPLATES[tier])
        for tier, start, end in _plan(window.start_us, window.end_us, tiers)
    ]
    head = (
        f"SELECT {_BUCKET} AS bucket, sum(n), sum(total), min(low), max(high) "
        "FROM ({source}) GROUP BY bucket"
    )
    flat = [part for tier_parts in parts for part in tier_parts]
    return _merged(_each_batch(connection, flat, head, {"series": series, "every": every_us}))


_ROLLUP_TIERS = ((HOUR_US, Tier.HOUR), (MINUTE_US, Tier.MINUTE))
_TEMPLATES = {
    Tier.RAW: _RAW_AS_BUCKET,
    Tier.MINUTE: _ROLLUP_AS_BUCKET,
    Tier.HOUR: _ROLLUP_AS_BUCKET,
}


def _plan(start_us: int, end_us: int, tiers: list[tuple[int, Tier]]) -> list[tuple[Tier, int, int]]:
    """``[start_us, end_us)`` split into the whole buckets of the widest tier it holds and the
    edges, split the same way by the narrower tiers; raw points for what is left."""
    if start_us >= end_us:
        return []
    for position, (width, tier) in enumerate(tiers):
        inner_start, inner_end = -floor_to(-start_us, width), floor_to(end_us, width)
        if inner_start < inner_end:
            narrower = tiers[position + 1 :]
            return [
                *_plan(start_us, inner_start, narrower),
                (tier, inner_start, inner_end),
                *_plan(inner_end, end_us, narrower),
            ]
    return [(Tier.RAW, start_us, end_us)]


def _each_batch(
    connection: sqlite3.Connection, parts: list[str], head: str, params: dict[str, object]
) -> Iterator[Any]:
    """The rows of ``head`` over the union of ``parts``, a batch of parts per statement
    (SQLite caps the terms of one compound SELECT)."""
    for first in range(0, len(parts), UNION_BATCH):
        source = " UNION ALL ".join(parts[first : first + UNION_BATCH])
        yield from connection.execute(head.format(source=source), params)


def _merged(
    rows: Iterable[tuple[int, int, float, float, float]],
) -> list[tuple[int, int, float, float, float]]:
    """Partial ``(bucket, count, sum, min, max)`` rows of the same bucket folded into one."""
    buckets: dict[int, tuple[int, float, float, float]] = {}
    for key, count, total, low, high in rows:
        seen = buckets.get(key)
        if seen is not None:
            count, total = count + seen[0], total + seen[1]
            low, high = min(low, seen[2]), max(high, seen[3])
        buckets[key] = (count, total, low, high)
    return [(key, *buckets[key]) for key in sorted(buckets)]


def _parts(
    connection: sqlite3.Connection,
    layout: Layout,
    tier: Tier,
    start_us: int,
    end_us: int,
    template: str,
) -> list[str]:
    # The bounds are integers computed here, so they are written into the SQL as literals.
    return [
        template.format(table=table, start=int(start_us), end=int(end_us))
        for table in chunk_tables(connection, layout, tier, start_us, end_us)
    ]


def select_latest(
    connection: sqlite3.Connection, device_ids: Sequence[str]
) -> list[tuple[str, str, int, float]]:
    """``(device, metric, ts_us, value)`` of the newest sample of each series of the devices."""
    rows: list[tuple[str, str, int, float]] = []
    for first in range(0, len(device_ids), LATEST_CHUNK):
        chunk = device_ids[first : first + LATEST_CHUNK]
        sql = _SELECT_LATEST.format(wanted=", ".join("?" for _ in chunk))
        rows.extend(connection.execute(sql, chunk).fetchall())
    return rows
