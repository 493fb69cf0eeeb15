"""The embedded store's writer: appends points to their chunk, folds them into the rollups and
``latest``, and applies retention. Runs on the adapter's single writer thread, never on the
event loop."""

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
    fold_hours,
    fold_minutes,
    fold_whole_chunk,
    has_legacy_table,
    legacy_rows,
    spans,
)

log = logging.getLogger(__name__)

Row = tuple[int, int, float]
_TS = itemgetter(1)
#: Rows per statement while migrating the single-table layout, bounding memory.
LEGACY_BATCH = 100_000


class ChunkWriter:
    """Writes batches into time-partitioned chunks of one SQLite file (one thread only).

    Raw chunks are ordered by time, then series: points arrive in time order across many
    series, so a batch appends to the end of its chunk and touches a few pages however many
    series it holds (ordered by series, it took a page write per series per batch, and the
    write rate fell as history grew). The minutes a batch touches are folded into the
    series-ordered rollups and ``latest`` every FM_TSDB_ROLLUP_INTERVAL_S or
    FM_TSDB_ROLLUP_MAX_POINTS (and before reads).
    """

    def __init__(self, connection: sqlite3.Connection, options: StoreOptions) -> None:
        self.connection = self._connection = connection
        self._options = options
        connection.execute(f"PRAGMA cache_size = -{options.sqlite_cache_mb * 1024}")
        with connection:
            self.layout = create_schema(connection, options.chunk_hours)
        self._chunks = existing_chunks(connection)
        self._series: dict[tuple[str, str], int] = {}
        self._load_series()
        (newest,) = connection.execute("SELECT max(ts_us) FROM latest").fetchone()
        self._newest_us: int | None = newest
        #: Start of every minute written to since the last fold.
        self._dirty: set[int] = set()
        #: Start of every hour whose minutes changed but that was not recomputed yet.
        self._dirty_hours: set[int] = set()
        self._unfolded = 0  # points written since the last fold
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
        rolled_over = False
        try:
            with self._connection:
                for index, chunk_rows in self._by_chunk(rows).items():
                    rolled_over |= self._ensure(Tier.RAW, index)
                    self._connection.executemany(
                        f"INSERT OR REPLACE INTO {chunk_name(Tier.RAW, index)} "
                        "(ts_us, series_id, value) VALUES (?, ?, ?)",
                        chunk_rows,
                    )
        except BaseException:
            # Series ids and chunks created inside the failed transaction are gone again.
            self._series.clear()
            self._load_series()
            self._chunks = existing_chunks(self._connection)
            raise
        self._dirty.update({row[0] - row[0] % MINUTE_US for row in rows})
        newest = max(row[0] for row in rows)
        if self._newest_us is None or newest > self._newest_us:
            self._newest_us = newest
        self._unfolded += len(rows)
        if rolled_over:
            self.enforce_retention()  # folds first
        elif (
            self._unfolded >= self._options.rollup_max_points
            or time.monotonic() - self._folded_at >= self._options.rollup_interval_s
        ):
            self.fold(whole_hours_only=True)

    def _rows(self, points: Sequence[Point]) -> list[Row]:
        """``(ts_us, series_id, value)`` rows, leaving out points retention already dropped."""
        series = self._series
        rows: list[Row] = []
        append = rows.append
        for point in points:
            key = (point.device_id, point.metric)
            series_id = series.get(key)
            if series_id is None:
                series_id = self._add_series(key)
            append((int(point.ts * 1_000_000.0 + 0.5), series_id, point.value))
        cutoff = self._cutoff(Tier.RAW)
        if cutoff is not None:
            oldest_kept = self.layout.index(cutoff) * self.layout.chunk_us
            if min(row[0] for row in rows) < oldest_kept:
                rows = [row for row in rows if row[0] >= oldest_kept]
        return rows

    def _by_chunk(self, rows: list[Row]) -> dict[int, list[Row]]:
        index = self.layout.index
        first, last = index(min(row[0] for row in rows)), index(max(row[0] for row in rows))
        if first == last:  # the usual batch: all of it in the current chunk
            return {first: rows}
        grouped: defaultdict[int, list[Row]] = defaultdict(list)
        for row in rows:
            grouped[index(row[0])].append(row)
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

    # Rollups and latest -------------------------------------------------------------------

    def fold(self, *, whole_hours_only: bool = False) -> None:
        """Recompute every minute and hour bucket written to since the last fold from what
        the chunks hold (a point that replaced another is not counted twice), and ``latest``.

        ``whole_hours_only`` (the writer's own periodic folds) leaves the hour still being
        written for later: recomputing it reads up to an hour of minutes per series, so it is
        done once the hour is over, or when someone reads.
        """
        self._folded_at = time.monotonic()
        self._unfolded = 0
        if not self._dirty and not self._dirty_hours:
            return
        minutes = spans(sorted(self._dirty), MINUTE_US, self.layout.chunk_us)
        self._dirty_hours |= {minute - minute % HOUR_US for minute in self._dirty}
        current = (self._newest_us or 0) - (self._newest_us or 0) % HOUR_US
        due = {h for h in self._dirty_hours if not whole_hours_only or h < current}
        hours = spans(sorted(due), HOUR_US, self.layout.chunk_us)
        try:
            with self._connection:
                for start, end in minutes:
                    index = self.layout.index(start)
                    if index in self._chunks[Tier.RAW]:  # else dropped by retention meanwhile
                        self._ensure(Tier.MINUTE, index)
                        fold_minutes(self._connection, index, start, end)
                for start, end in hours:
                    index = self.layout.index(start)
                    if index in self._chunks[Tier.MINUTE]:
                        self._ensure(Tier.HOUR, index)
                        fold_hours(self._connection, index, start, end)
        except BaseException:
            self._chunks = existing_chunks(self._connection)
            raise
        self._dirty = set()
        self._dirty_hours -= due

    # Retention ----------------------------------------------------------------------------

    def enforce_retention(self) -> None:
        """Drop every chunk of each tier that lies wholly before that tier's retention."""
        self.fold()  # points about to be dropped still count in their rollups
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
                        f"INSERT OR REPLACE INTO {chunk_name(Tier.RAW, index)} "
                        "(ts_us, series_id, value) VALUES (?, ?, ?)",
                        chunk_rows,
                    )
            for index in sorted(touched):
                for tier in ROLLUPS:
                    self._ensure(tier, index)
                    fold_whole_chunk(self._connection, tier, index)
            self._connection.execute(f"DROP TABLE {LEGACY_TABLE}")
        self._load_series()
        (self._newest_us,) = self._connection.execute("SELECT max(ts_us) FROM latest").fetchone()
        log.info(
            "moved %d points of the single-table layout into %d chunk(s) in %.1f s",
            moved,
            len(touched),
            time.monotonic() - started,
        )
