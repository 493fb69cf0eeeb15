"""Time-series store in a SQLite file: the embedded default (`fm demo`, one machine).

One table, ``telemetry(device_id, metric, ts_us, value)``, keyed by the first three so a
duplicate point replaces the old one. sqlite3 is blocking, so every call runs off the event
loop: writes on one dedicated thread and connection (SQLite has a single writer anyway, and a
FIFO thread keeps batches in order), reads on another, which WAL lets proceed during writes.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from operator import attrgetter
from pathlib import Path
from typing import Any, TypeVar

from storage.tsdb.port import Aggregate, Bucket, Latest, Point, Sample, TimeSeriesError
from storage.tsdb.window import ReadWindow, bucket_window, read_window, us_to_datetime

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS telemetry (
    device_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    ts_us INTEGER NOT NULL,
    -- NaN arrives as NULL; +-Inf falls outside the finite range: both refuse the whole batch,
    -- exactly as the InfluxDB adapter does.
    value REAL NOT NULL CHECK (value BETWEEN -1.7976931348623157e308 AND 1.7976931348623157e308),
    PRIMARY KEY (device_id, metric, ts_us)
) WITHOUT ROWID
"""

# The seconds→microseconds rounding happens inside SQLite, so the hot path hands sqlite3 the
# attributes of each Point as they are (attrgetter builds the row tuple in C).
_INSERT = (
    "INSERT OR REPLACE INTO telemetry (device_id, metric, ts_us, value) "
    "VALUES (?, ?, CAST(? * 1000000.0 + 0.5 AS INTEGER), ?)"
)
_ROW = attrgetter("device_id", "metric", "ts", "value")

_WHERE = "WHERE device_id = :device AND metric = :metric AND ts_us >= :start AND ts_us < :end"
_SELECT_RAW = f"SELECT ts_us, value FROM telemetry {_WHERE} ORDER BY ts_us"
# floor(ts / every) * every, written so it also floors before 1970 (SQLite's % truncates).
_BUCKET = "(ts_us - ((ts_us % :every) + :every) % :every)"
# LAST relies on SQLite's documented bare-column rule: with a single max() aggregate, `value`
# comes from the row holding that maximum.
_REDUCE = {
    Aggregate.MEAN: "avg(value)",
    Aggregate.MIN: "min(value)",
    Aggregate.MAX: "max(value)",
    Aggregate.SUM: "sum(value)",
    Aggregate.COUNT: "count(value)",
    Aggregate.LAST: "value, max(ts_us)",
}
_SELECT_BUCKETED = {
    agg: f"SELECT {_BUCKET} AS bucket, {expr} FROM telemetry {_WHERE} "
    "GROUP BY bucket ORDER BY bucket"
    for agg, expr in _REDUCE.items()
}
_SELECT_WHOLE = {
    agg: f"SELECT :start, {expr} FROM telemetry {_WHERE} HAVING count(*) > 0"
    for agg, expr in _REDUCE.items()
}

_SELECT_BUCKETS = (
    f"SELECT {_BUCKET} AS bucket, avg(value), min(value), max(value), count(value) "
    f"FROM telemetry {_WHERE} GROUP BY bucket ORDER BY bucket"
)
#: Devices per ``latest`` statement, well below SQLite's bound-parameter limit.
LATEST_CHUNK = 500
# Newest sample of each metric of each wanted device, all through the primary key: the
# recursive CTE skip-scans a device's distinct metrics (one index seek each, instead of reading
# its whole history), and each metric's max(ts_us) is one more seek (SQLite's min/max
# optimisation), so the cost grows with devices times metrics, not with stored history.
_SELECT_LATEST = """
WITH RECURSIVE
  wanted(device_id) AS (VALUES {wanted}),
  series(device_id, metric) AS (
    SELECT device_id, (SELECT min(metric) FROM telemetry AS t WHERE t.device_id = w.device_id)
    FROM wanted AS w
    UNION ALL
    SELECT device_id, (SELECT min(metric) FROM telemetry AS t
                       WHERE t.device_id = s.device_id AND t.metric > s.metric)
    FROM series AS s WHERE s.metric IS NOT NULL
  )
SELECT s.device_id, s.metric, t.ts_us, t.value
FROM series AS s JOIN telemetry AS t
  ON t.device_id = s.device_id AND t.metric = s.metric
 AND t.ts_us = (SELECT max(ts_us) FROM telemetry AS n
                WHERE n.device_id = s.device_id AND n.metric = s.metric)
"""


class SqliteTimeSeries:
    """``TimeSeriesStore`` on a local SQLite file (WAL mode)."""

    __slots__ = ("_path", "_reader", "_reader_pool", "_store", "_writer", "_writer_pool")

    def __init__(self, path: Path) -> None:
        self._path = path
        self._store = f"sqlite://{path}"
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._writer_pool: ThreadPoolExecutor | None = None
        self._reader_pool: ThreadPoolExecutor | None = None

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    async def open(self) -> None:
        """Create the file, its directory and the table if missing; idempotent."""
        if self._writer_pool is not None:
            return
        self._writer_pool = ThreadPoolExecutor(1, thread_name_prefix="fm-tsdb-sqlite-write")
        self._reader_pool = ThreadPoolExecutor(1, thread_name_prefix="fm-tsdb-sqlite-read")
        try:
            self._writer = await self._on(self._writer_pool, self._connect_writer)
            self._reader = await self._on(self._reader_pool, self._connect_reader)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Close both connections and stop their threads; idempotent."""
        for pool, attribute in ((self._writer_pool, "_writer"), (self._reader_pool, "_reader")):
            connection: sqlite3.Connection | None = getattr(self, attribute)
            setattr(self, attribute, None)
            if pool is None:
                continue
            if connection is not None:
                await asyncio.get_running_loop().run_in_executor(pool, connection.close)
            pool.shutdown(wait=True)  # the thread is idle now: this returns at once
        self._writer_pool = self._reader_pool = None

    async def ping(self) -> bool:
        """True when the file answers a query."""
        pool, connection = self._reader_pool, self._reader
        if pool is None or connection is None:
            return False
        try:
            await self._on(pool, lambda: connection.execute("SELECT 1").fetchone())
        except TimeSeriesError:
            return False
        return True

    async def write(self, points: Sequence[Point]) -> None:
        """Insert (or replace) one batch in one transaction; all or nothing.

        ``points`` is read on the writer thread: do not mutate it until this returns.
        """
        if not points:
            return
        pool, connection = self._writer_pool, self._writer
        if pool is None or connection is None:
            raise TimeSeriesError("store is not open", store=self._store)
        # The connection is bound now: a close() queued behind this batch closes it after.
        await self._on(pool, lambda: _insert(connection, points))

    async def read(
        self,
        *,
        device_id: str,
        metric: str,
        start: datetime,
        end: datetime,
        aggregate: Aggregate | None = None,
        every_s: float | None = None,
    ) -> list[Sample]:
        """Points of one series in ``[start, end)``; bucketed by ``every_s`` when aggregated."""
        window = read_window(start=start, end=end, aggregate=aggregate, every_s=every_s)
        pool, connection = self._require_reader()
        if window.empty:
            return []
        sql, params = _query(device_id, metric, window)
        rows = await self._on(pool, lambda: _select(connection, sql, params))
        return [Sample(us_to_datetime(row[0]), float(row[1])) for row in rows]

    async def read_buckets(
        self, *, device_id: str, metric: str, start: datetime, end: datetime, every_s: float
    ) -> list[Bucket]:
        """Epoch-aligned ``every_s`` buckets of one series in ``[start, end)``, in one query."""
        window = bucket_window(start=start, end=end, every_s=every_s)
        pool, connection = self._require_reader()
        if window.empty:
            return []
        params: dict[str, object] = {
            "device": device_id,
            "metric": metric,
            "start": window.start_us,
            "end": window.end_us,
            "every": window.every_us,
        }
        rows = await self._on(pool, lambda: _select(connection, _SELECT_BUCKETS, params))
        return [
            Bucket(us_to_datetime(row[0]), float(row[1]), float(row[2]), float(row[3]), row[4])
            for row in rows
        ]

    async def latest(self, device_ids: Collection[str]) -> Latest:
        """The newest stored sample of every metric of each of ``device_ids``."""
        pool, connection = self._require_reader()
        wanted = sorted(set(device_ids))
        if not wanted:
            return {}
        rows = await self._on(pool, lambda: _select_latest(connection, wanted))
        latest: Latest = {}
        for device_id, metric, ts_us, value in rows:
            latest.setdefault(device_id, {})[metric] = Sample(us_to_datetime(ts_us), float(value))
        return latest

    def _require_reader(self) -> tuple[ThreadPoolExecutor, sqlite3.Connection]:
        pool, connection = self._reader_pool, self._reader
        if pool is None or connection is None:
            raise TimeSeriesError("store is not open", store=self._store)
        return pool, connection

    # Runs on the worker threads -----------------------------------------------------------

    def _connect_writer(self) -> sqlite3.Connection:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self._path)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a crash of the process loses nothing committed, a power cut may
            # lose the last few transactions; the price of not fsyncing every batch.
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(_SCHEMA)
            connection.commit()
        except BaseException:
            connection.close()
            raise
        return connection

    def _connect_reader(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path)
        connection.execute("PRAGMA query_only=ON")
        return connection

    async def _on(self, pool: ThreadPoolExecutor, call: Callable[[], T]) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, call)
        except sqlite3.Error as exc:
            raise TimeSeriesError(f"{type(exc).__name__}: {exc}", store=self._store) from exc
        except OSError as exc:
            raise TimeSeriesError(f"cannot use the file: {exc}", store=self._store) from exc


def _insert(connection: sqlite3.Connection, points: Sequence[Point]) -> None:
    with connection:  # one transaction: commit, or roll back on any error
        connection.executemany(_INSERT, map(_ROW, points))


def _select(
    connection: sqlite3.Connection, sql: str, params: dict[str, object]
) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = connection.execute(sql, params).fetchall()
    return rows


def _select_latest(
    connection: sqlite3.Connection, device_ids: Sequence[str]
) -> list[tuple[str, str, int, float]]:
    rows: list[tuple[str, str, int, float]] = []
    for first in range(0, len(device_ids), LATEST_CHUNK):
        chunk = device_ids[first : first + LATEST_CHUNK]
        sql = _SELECT_LATEST.format(wanted=", ".join("(?)" for _ in chunk))
        rows.extend(connection.execute(sql, chunk).fetchall())
    return rows


def _query(device_id: str, metric: str, window: ReadWindow) -> tuple[str, dict[str, object]]:
    params: dict[str, object] = {
        "device": device_id,
        "metric": metric,
        "start": window.start_us,
        "end": window.end_us,
    }
    if window.aggregate is None:
        return _SELECT_RAW, params
    if window.every_us is None:
        return _SELECT_WHOLE[window.aggregate], params
    params["every"] = window.every_us
    return _SELECT_BUCKETED[window.aggregate], params
