"""Time-series store in a SQLite file: the embedded default (`fm demo`, one machine).

Points live in time-partitioned chunk tables with per-minute and per-hour rollups and a
``latest`` table (see ``sqlite_layout``); new points are folded into the rollups and ``latest``
every FM_TSDB_ROLLUP_INTERVAL_S, and before every read of this process. sqlite3 is blocking, so
every call runs off the event loop: writes on one dedicated thread and connection (SQLite has
a single writer anyway, and a FIFO thread keeps batches in order), reads on another, which WAL
lets proceed during writes.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from storage.tsdb.options import StoreOptions
from storage.tsdb.port import Aggregate, Bucket, Latest, Point, Sample, TimeSeriesError
from storage.tsdb.sqlite_layout import Layout, read_layout
from storage.tsdb.sqlite_reads import (
    select_buckets,
    select_latest,
    select_points,
    series_id,
    snapshot,
)
from storage.tsdb.sqlite_writer import ChunkWriter
from storage.tsdb.window import bucket_window, read_window, us_to_datetime

T = TypeVar("T")


class SqliteTimeSeries:
    """``TimeSeriesStore`` on a local SQLite file (WAL mode)."""

    __slots__ = (
        "_layout",
        "_options",
        "_path",
        "_reader",
        "_reader_pool",
        "_store",
        "_writer",
        "_writer_pool",
    )

    def __init__(self, path: Path, options: StoreOptions | None = None) -> None:
        self._path = path
        self._options = options or StoreOptions()
        self._store = f"sqlite://{path}"
        self._writer: ChunkWriter | None = None
        self._reader: sqlite3.Connection | None = None
        self._layout: Layout | None = None
        self._writer_pool: ThreadPoolExecutor | None = None
        self._reader_pool: ThreadPoolExecutor | None = None

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    @property
    def options(self) -> StoreOptions:
        """Chunking, retention and rollup settings."""
        return self._options

    async def open(self) -> None:
        """Create the file, its directory and the tables if missing (migrating the single-table
        layout of earlier versions); idempotent."""
        if self._writer_pool is not None:
            return
        self._writer_pool = ThreadPoolExecutor(1, thread_name_prefix="fm-tsdb-sqlite-write")
        self._reader_pool = ThreadPoolExecutor(1, thread_name_prefix="fm-tsdb-sqlite-read")
        try:
            self._writer = await self._on(self._writer_pool, self._connect_writer)
            self._reader = await self._on(self._reader_pool, self._connect_reader)
            self._layout = self._writer.layout
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Fold the last points into the rollups, close both connections and stop their
        threads; idempotent."""
        writer, self._writer = self._writer, None
        reader, self._reader = self._reader, None
        loop = asyncio.get_running_loop()
        if self._writer_pool is not None:
            if writer is not None:
                try:
                    await self._on(self._writer_pool, writer.fold)
                finally:
                    await loop.run_in_executor(self._writer_pool, writer.connection.close)
            self._writer_pool.shutdown(wait=True)  # the thread is idle now: this returns at once
        if self._reader_pool is not None:
            if reader is not None:
                await loop.run_in_executor(self._reader_pool, reader.close)
            self._reader_pool.shutdown(wait=True)
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
        pool, writer = self._writer_pool, self._writer
        if pool is None or writer is None:
            raise TimeSeriesError("store is not open", store=self._store)
        # The writer is bound now: a close() queued behind this batch closes it after.
        await self._on(pool, lambda: writer.write(points))

    async def flush(self) -> None:
        """Fold every point written so far into the rollups and ``latest``."""
        pool, writer = self._writer_pool, self._writer
        if pool is None or writer is None:
            raise TimeSeriesError("store is not open", store=self._store)
        await self._on(pool, writer.fold)

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
        pool, connection, layout = self._require_reader()
        if window.empty:
            return []
        await self.flush()

        def query() -> list[tuple[int, float]]:
            with snapshot(connection):
                series = series_id(connection, device_id, metric)
                return [] if series is None else select_points(connection, layout, series, window)

        rows = await self._on(pool, query)
        return [Sample(us_to_datetime(ts), value) for ts, value in rows]

    async def read_buckets(
        self, *, device_id: str, metric: str, start: datetime, end: datetime, every_s: float
    ) -> list[Bucket]:
        """Epoch-aligned ``every_s`` buckets of one series in ``[start, end)``, in one query;
        whole minutes or hours come from the rollups when the bucket width is a multiple."""
        window = bucket_window(start=start, end=end, every_s=every_s)
        pool, connection, layout = self._require_reader()
        if window.empty:
            return []
        await self.flush()

        def query() -> list[tuple[int, int, float, float, float]]:
            with snapshot(connection):
                series = series_id(connection, device_id, metric)
                return [] if series is None else select_buckets(connection, layout, series, window)

        rows = await self._on(pool, query)
        return [
            Bucket(us_to_datetime(ts), total / count, float(low), float(high), count)
            for ts, count, total, low, high in rows
        ]

    async def latest(self, device_ids: Collection[str]) -> Latest:
        """The newest stored sample of every metric of each of ``device_ids``."""
        pool, connection, _ = self._require_reader()
        wanted = sorted(set(device_ids))
        if not wanted:
            return {}
        await self.flush()
        rows = await self._on(pool, lambda: select_latest(connection, wanted))
        latest: Latest = {}
        for device_id, metric, ts_us, value in rows:
            latest.setdefault(device_id, {})[metric] = Sample(us_to_datetime(ts_us), float(value))
        return latest

    def _require_reader(self) -> tuple[ThreadPoolExecutor, sqlite3.Connection, Layout]:
        pool, connection, layout = self._reader_pool, self._reader, self._layout
        if pool is None or connection is None or layout is None:
            raise TimeSeriesError("store is not open", store=self._store)
        return pool, connection, layout

    # Runs on the worker threads -----------------------------------------------------------

    def _connect_writer(self) -> ChunkWriter:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self._path)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a crash of the process loses nothing committed, a power cut may
            # lose the last few transactions; the price of not fsyncing every batch.
            connection.execute("PRAGMA synchronous=NORMAL")
            return ChunkWriter(connection, self._options)
        except BaseException:
            connection.close()
            raise

    def _connect_reader(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path)
        connection.execute("PRAGMA query_only=ON")
        if read_layout(connection) is None:  # the writer has created it just before
            connection.close()
            raise sqlite3.OperationalError("the time-series file has no layout")
        return connection

    async def _on(self, pool: ThreadPoolExecutor, call: Callable[[], T]) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, call)
        except sqlite3.Error as exc:
            raise TimeSeriesError(f"{type(exc).__name__}: {exc}", store=self._store) from exc
        except OSError as exc:
            raise TimeSeriesError(f"cannot use the file: {exc}", store=self._store) from exc
