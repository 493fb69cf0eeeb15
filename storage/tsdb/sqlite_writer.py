"""The embedded store's writer: routes points to their chunk, keeps ``latest`` and the rollups,
and applies retention. Runs on the adapter's single writer thread, never on the event loop."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import defaultdict
from collections.abc import Sequence
from operator import itemgetter

from storage.tsdb.options import StoreOptions
from storage.tsdb.port import Point
from storage.tsdb.sqlite_layout import (
    DAY_US,
    HOUR_US,
    LEGACY_TABLE,
    MINUTE_US,
    ROLLUPS,
    Tier,
    chunk_name,
    create_chunk,
    create_schema,
    drop_chunks_before,
    existing_chunks,
    fold_buckets,
    fold_whole_chunk,
    has_legacy_table,
    legacy_rows,
)

log = logging.getLogger(__name__)

Row = tuple[int, int, float]
_TS = itemgetter(1)
#: Rows per statement while migrating the single-table layout, bounding memory.
LEGACY_BATCH = 100_000

_UPSERT_LATEST = (
    "INSERT INTO latest (series_id, ts_us, value) VALUES (?, ?, ?) "
    "ON CONFLICT (series_id) DO UPDATE SET ts_us = excluded.ts_us, value = excluded.value "
    "WHERE excluded.ts_us >= latest.ts_us"
)
_DIRTY_TABLES = {Tier.MINUTE: "temp.dirty_m1", Tier.HOUR: "temp.dirty_h1"}
_STAGE = "INSERT INTO staging (series_id, ts_us, value) VALUES (?, ?, ?)"


class ChunkWriter:
    """Writes batches into time-partitioned chunks of one SQLite file (one thread only)."""

    def __init__(self, connection: sqlite3.Connection, options: StoreOptions) -> None:
        self.connection = self._connection = connection
        self._options = options
        connection.execute(f"PRAGMA cache_size = -{options.sqlite_cache_mb * 1024}")
        with connection:
            self.layout = create_schema(connection, options.chunk_hours)
            for table in _DIRTY_TABLES.values():
                connection.execute(
                    f"CREATE TABLE IF NOT EXISTS {table} (series_id INTEGER NOT NULL,"
                    " bucket_us INTEGER NOT NULL, PRIMARY KEY (series_id, bucket_us)) WITHOUT ROWID"
                )
        self._chunks = existing_chunks(connection)
        self._series: dict[tuple[str, str], int] = {}
        self._load_series()
        (newest,) = connection.execute("SELECT max(ts_us) FROM latest").fetchone()
        self._newest_us: int | None = newest
        #: Chunks that points waiting in ``staging`` belong to.
        self._staged = {
            self.layout.index(ts_us)
            for (ts_us,) in connection.execute("SELECT DISTINCT ts_us FROM staging")
        }
        self._flushed_at = time.monotonic()
        if has_legacy_table(connection):
            self._migrate_legacy()
        self.enforce_retention()

    # Writing ------------------------------------------------------------------------------

    def write(self, points: Sequence[Point]) -> None:
        """Stage one batch (and its series' latest values) in one transaction; all or nothing.

        Points arrive in time order across many series; a series-ordered chunk would take a
        page write per series per batch. So batches are appended to ``staging`` (a few pages)
        and moved into their chunks, sorted by series, every FM_TSDB_ROLLUP_INTERVAL_S.
        """
        try:
            rows = self._rows(points)
        except (ValueError, OverflowError) as exc:
            raise sqlite3.DataError(f"cannot store batch: {exc}") from exc
        if not rows:
            self._connection.commit()  # series ids registered on the way, if any
            return
        newest = max(map(_TS, rows))
        try:
            with self._connection:
                self._connection.executemany(_STAGE, rows)
                # Sorted by time (stable), the dict keeps each series' newest row; the
                # later of two rows with the same time wins, as in the chunk.
                newest_rows = {row[0]: row for row in sorted(rows, key=_TS)}
                self._connection.executemany(_UPSERT_LATEST, newest_rows.values())
        except BaseException:
            # Series ids registered inside the failed transaction are gone again.
            self._series.clear()
            self._load_series()
            raise
        first, last = self.layout.index(min(map(_TS, rows))), self.layout.index(newest)
        staged = {first, last} if last - first <= 1 else {self.layout.index(r[1]) for r in rows}
        rolled_over = not staged <= (self._chunks[Tier.RAW] | self._staged)
        self._staged |= staged
        if self._newest_us is None or newest > self._newest_us:
            self._newest_us = newest
        if rolled_over:
            self.enforce_retention()  # flushes first
        elif time.monotonic() - self._flushed_at >= self._options.rollup_interval_s:
            self.flush()

    def _rows(self, points: Sequence[Point]) -> list[Row]:
        series = self._series
        rows: list[Row] = []
        append = rows.append
        cutoff = self._cutoff(Tier.RAW)
        for point in points:
            key = (point.device_id, point.metric)
            series_id = series.get(key)
            if series_id is None:
                series_id = self._add_series(key)
            ts_us = int(point.ts * 1_000_000.0 + 0.5)
            append((series_id, ts_us, point.value))
        if cutoff is not None:
            # Points whose chunk retention has already dropped are not stored again.
            oldest_kept = self.layout.index(cutoff) * self.layout.chunk_us
            rows = [row for row in rows if row[1] >= oldest_kept]
        return rows

    def _by_chunk(self, rows: list[Row]) -> dict[int, list[Row]]:
        index = self.layout.index
        first, last = index(min(map(_TS, rows))), index(max(map(_TS, rows)))
        if first == last:  # the usual batch: all of it in the current chunk
            return {first: rows}
        grouped: defaultdict[int, list[Row]] = defaultdict(list)
        for row in rows:
            grouped[index(row[1])].append(row)
        return grouped

    def _add_series(self, key: tuple[str, str]) -> int:
        self._connection.execute(
            "INSERT OR IGNORE INTO series (device_id, metric) VALUES (?, ?)", key
        )
        (series_id,) = self._connection.execute(
            "SELECT id FROM series WHERE device_id = ? AND metric = ?", key
        ).fetchone()
        self._series[key] = series_id
        return int(series_id)

    def _load_series(self) -> None:
        for series_id, device_id, metric in self._connection.execute(
            "SELECT id, device_id, metric FROM series"
        ):
            self._series[(device_id, metric)] = series_id

    def _ensure(self, tier: Tier, index: int) -> bool:
        """Create chunk ``index`` of ``tier`` unless it exists; True when it was created."""
        have = self._chunks[tier]
        if index in have:
            return False
        create_chunk(self._connection, self.layout, tier, index)
        have.add(index)
        return True

    # Moving staged points into chunks and rollups ---------------------------------------

    def flush(self) -> None:
        """Move the staged points into their chunks, sorted by series (a later write of the
        same series and time wins), and recompute every minute and hour bucket they touch."""
        self._flushed_at = time.monotonic()
        if not self._staged:
            return
        try:
            with self._connection:
                for index in sorted(self._staged):
                    self._ensure(Tier.RAW, index)
                    start, end = index * self.layout.chunk_us, (index + 1) * self.layout.chunk_us
                    self._connection.execute(
                        f"INSERT OR REPLACE INTO {chunk_name(Tier.RAW, index)} "
                        "(series_id, ts_us, value) SELECT series_id, ts_us, value FROM staging "
                        "WHERE ts_us >= ? AND ts_us < ? ORDER BY series_id, ts_us, rowid",
                        (start, end),
                    )
                self._mark_dirty()
                for tier in ROLLUPS:
                    for index in sorted(self._staged):
                        self._ensure(tier, index)
                        fold_buckets(
                            self._connection, tier, index, _DIRTY_TABLES[tier], self.layout.chunk_us
                        )
                self._connection.execute("DELETE FROM staging")
        except BaseException:
            self._chunks = existing_chunks(self._connection)
            raise
        self._staged = set()

    def _mark_dirty(self) -> None:
        """The minute and hour buckets of the staged points, into the dirty tables."""
        minutes, hours = _DIRTY_TABLES[Tier.MINUTE], _DIRTY_TABLES[Tier.HOUR]
        self._connection.execute(f"DELETE FROM {minutes}")
        self._connection.execute(f"DELETE FROM {hours}")
        self._connection.execute(
            f"INSERT OR IGNORE INTO {minutes} (series_id, bucket_us) "
            "SELECT series_id, ts_us - ((ts_us % :w) + :w) % :w FROM staging",
            {"w": MINUTE_US},
        )
        self._connection.execute(
            f"INSERT OR IGNORE INTO {hours} (series_id, bucket_us) "
            f"SELECT series_id, bucket_us - ((bucket_us % :w) + :w) % :w FROM {minutes}",
            {"w": HOUR_US},
        )

    # Retention ----------------------------------------------------------------------------

    def enforce_retention(self) -> None:
        """Drop every chunk of each tier that lies wholly before that tier's retention."""
        self.flush()  # points about to be dropped still count in their rollups
        dropped: dict[Tier, list[int]] = {}
        with self._connection:
            for tier in Tier:
                cutoff = self._cutoff(tier)
                if cutoff is not None:
                    dropped[tier] = drop_chunks_before(
                        self._connection, self.layout, tier, cutoff, self._chunks[tier]
                    )
        for tier, indices in dropped.items():
            self._chunks[tier].difference_update(indices)
            if indices:
                log.info("time-series retention dropped %d %s chunk(s)", len(indices), tier)

    def _cutoff(self, tier: Tier) -> int | None:
        """Retention is measured back from the newest point stored (None: nothing stored)."""
        if self._newest_us is None:
            return None
        days = {
            Tier.RAW: self._options.retention_days,
            Tier.MINUTE: self._options.rollup_minute_days,
            Tier.HOUR: self._options.rollup_hour_days,
        }[tier]
        return self._newest_us - days * DAY_US

    # The single-table layout --------------------------------------------------------------

    def _migrate_legacy(self) -> None:
        """Move the points of the single-table layout into chunks, with their rollups and
        latest values, and drop the old table: one transaction, so a crash repeats it whole."""
        started = time.monotonic()
        moved = 0
        touched: set[int] = set()
        with self._connection:
            cursor = legacy_rows(self._connection)
            while batch := cursor.fetchmany(LEGACY_BATCH):
                moved += len(batch)
                for index, chunk_rows in self._by_chunk(batch).items():
                    self._ensure(Tier.RAW, index)
                    touched.add(index)
                    self._connection.executemany(
                        f"INSERT OR REPLACE INTO {chunk_name(Tier.RAW, index)} VALUES (?, ?, ?)",
                        chunk_rows,
                    )
            for index in sorted(touched):
                for tier in ROLLUPS:
                    self._ensure(tier, index)
                    fold_whole_chunk(self._connection, tier, index)
                self._connection.execute(
                    f"INSERT OR REPLACE INTO latest (series_id, ts_us, value) "
                    f"SELECT series_id, max(ts_us), value FROM {chunk_name(Tier.RAW, index)} "
                    "GROUP BY series_id"
                )
            self._connection.execute(f"DROP TABLE {LEGACY_TABLE}")
        self._load_series()
        (self._newest_us,) = self._connection.execute("SELECT max(ts_us) FROM latest").fetchone()
        log.info(
            "moved %d points of the single-table layout into %d chunk(s) in %.1f s",
            moved,
            len(touched),
            time.monotonic() - started,
        )
