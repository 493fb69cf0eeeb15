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
        #: Minute buckets written since the rollups were last folded: ``(series_id, bucket_us)``.
        self._dirty: set[tuple[int, int]] = set()
        self._folded_at = time.monotonic()
        if has_legacy_table(connection):
            self._migrate_legacy()
        self.enforce_retention()

    # Writing ------------------------------------------------------------------------------

    def write(self, points: Sequence[Point]) -> None:
        """Insert (or replace) one batch in one transaction; all or nothing."""
        try:
            rows = self._rows(points)
        except (ValueError, OverflowError) as exc:
            raise sqlite3.DataError(f"cannot store batch: {exc}") from exc
        if not rows:
            self._connection.commit()  # series ids registered on the way, if any
            return
        newest = max(map(_TS, rows))
        rolled_over = False
        try:
            with self._connection:
                for index, chunk_rows in self._by_chunk(rows).items():
                    rolled_over |= self._ensure(Tier.RAW, index)
                    self._connection.executemany(
                        f"INSERT OR REPLACE INTO {chunk_name(Tier.RAW, index)} "
                        "(series_id, ts_us, value) VALUES (?, ?, ?)",
                        chunk_rows,
                    )
                # Sorted by time (stable), the dict keeps each series' newest row; the
                # later of two rows with the same time wins, as in the chunk.
                newest_rows = {row[0]: row for row in sorted(rows, key=_TS)}
                self._connection.executemany(_UPSERT_LATEST, newest_rows.values())
        except BaseException:
            # Series ids and chunks created inside the failed transaction are gone again.
            self._series.clear()
            self._load_series()
            self._chunks = existing_chunks(self._connection)
            raise
        self._dirty.update([(row[0], row[1] - row[1] % MINUTE_US) for row in rows])
        if self._newest_us is None or newest > self._newest_us:
            self._newest_us = newest
        if rolled_over:
            self.enforce_retention()
        if time.monotonic() - self._folded_at >= self._options.rollup_interval_s:
            self.fold_rollups()

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

    # Rollups ------------------------------------------------------------------------------

    def fold_rollups(self) -> None:
        """Recompute every minute and hour bucket written to since the last fold."""
        self._folded_at = time.monotonic()
        if not self._dirty:
            return
        minutes = self._dirty
        hours = {(series_id, bucket - bucket % HOUR_US) for series_id, bucket in minutes}
        try:
            with self._connection:
                for tier, buckets in ((Tier.MINUTE, minutes), (Tier.HOUR, hours)):
                    self._fold(tier, buckets)
        except BaseException:
            self._chunks = existing_chunks(self._connection)
            raise
        self._dirty = set()

    def _fold(self, tier: Tier, buckets: set[tuple[int, int]]) -> None:
        table = _DIRTY_TABLES[tier]
        source = ROLLUPS[tier][1]
        self._connection.execute(f"DELETE FROM {table}")
        self._connection.executemany(f"INSERT INTO {table} VALUES (?, ?)", buckets)
        for index in sorted({self.layout.index(bucket) for _, bucket in buckets}):
            if index not in self._chunks[source]:
                continue  # dropped by retention meanwhile
            self._ensure(tier, index)
            fold_buckets(self._connection, tier, index, table, self.layout.chunk_us)

    # Retention ----------------------------------------------------------------------------

    def enforce_retention(self) -> None:
        """Drop every chunk of each tier that lies wholly before that tier's retention."""
        self.fold_rollups()  # points about to be dropped still count in their rollups
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
