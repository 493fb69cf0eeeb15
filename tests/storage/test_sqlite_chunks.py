"""The embedded store's chunked layout: rollover, retention, rollups, the single-table layout."""

from __future__ import annotations

import asyncio
import math
import sqlite3
import tempfile
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.tsdb.options import StoreOptions
from storage.tsdb.port import Aggregate, Bucket, Point, Sample
from storage.tsdb.sqlite import SqliteTimeSeries

HOUR = 3_600
DAY = 86_400
T0 = 1_740_009_600.0  # 2025-02-20T00:00:00Z: a day boundary
START = datetime.fromtimestamp(T0, UTC)


def at(seconds: float) -> datetime:
    """START + seconds."""
    return START + timedelta(seconds=seconds)


def tables(path: Path, tier: str) -> list[str]:
    """The chunk tables of ``tier`` registered in the file, oldest first."""
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT name FROM chunks WHERE tier = ? ORDER BY start_us", (tier,)
        ).fetchall()
        present = {name for (name,) in connection.execute("SELECT name FROM sqlite_master")}
    connection.close()
    names = [name for (name,) in rows]
    assert set(names) <= present  # the registry never names a dropped table
    return names


async def test_points_roll_over_into_one_chunk_per_period_and_read_back_across_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "t.sqlite3"
    store = SqliteTimeSeries(path, StoreOptions(chunk_hours=1))
    await store.open()
    try:
        # Written newest first, across three hourly chunks, in two batches.
        await store.write([Point("d", "m", T0 + s, float(s)) for s in (2 * HOUR + 5, HOUR + 5)])
        await store.write([Point("d", "m", T0 + s, float(s)) for s in (HOUR - 1, 0)])
        await store.flush()
        assert tables(path, "raw") == [f"raw_{int(T0) // HOUR + n}" for n in range(3)]
        got = await store.read(device_id="d", metric="m", start=at(0), end=at(3 * HOUR))
        assert got == [Sample(at(s), float(s)) for s in (0, HOUR - 1, HOUR + 5, 2 * HOUR + 5)]
        total = await store.read(
            device_id="d", metric="m", start=at(0), end=at(3 * HOUR), aggregate=Aggregate.SUM
        )
        assert total == [Sample(at(0), float(HOUR - 1 + HOUR + 5 + 2 * HOUR + 5))]
        last = await store.read(
            device_id="d", metric="m", start=at(0), end=at(3 * HOUR), aggregate=Aggregate.LAST
        )
        assert last == [Sample(at(0), float(2 * HOUR + 5))]
    finally:
        await store.close()


async def test_the_chunk_width_is_the_files_not_the_settings(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite3"
    first = SqliteTimeSeries(path, StoreOptions(chunk_hours=1))
    await first.open()
    await first.write([Point("d", "m", T0, 1.0)])
    await first.close()
    again = SqliteTimeSeries(path, StoreOptions(chunk_hours=24))
    await again.open()
    try:
        await again.write([Point("d", "m", T0 + HOUR, 2.0)])
    finally:
        await again.close()
    assert tables(path, "raw") == [f"raw_{int(T0) // HOUR}", f"raw_{int(T0) // HOUR + 1}"]


async def test_retention_drops_whole_old_chunks_and_rollups_outlive_them(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite3"
    options = StoreOptions(retention_days=2, rollup_minute_days=4, rollup_hour_days=30)
    store = SqliteTimeSeries(path, options)
    await store.open()
    try:
        for day in range(3):
            await store.write([Point("d", "m", T0 + day * DAY + s, float(s)) for s in (0, 30, 90)])
        await store.flush()
        assert len(tables(path, "raw")) == 3
        # The newest point is now at day 5: raw keeps days 3.. (whole chunks), minutes day 1..
        await store.write([Point("d", "m", T0 + 5 * DAY, 7.0)])
        await store.flush()
        assert tables(path, "raw") == [f"raw_{int(T0) // DAY + 5}"]
        assert tables(path, "m1") == [f"m1_{int(T0) // DAY + n}" for n in (1, 2, 5)]
        assert len(tables(path, "h1")) == 4
        raw = await store.read(device_id="d", metric="m", start=at(0), end=at(6 * DAY))
        assert raw == [Sample(at(5 * DAY), 7.0)]
        hours = await store.read_buckets(
            device_id="d", metric="m", start=at(0), end=at(6 * DAY), every_s=DAY
        )
        assert hours == [Bucket(at(day * DAY), 40.0, 0.0, 90.0, 3) for day in range(3)] + [
            Bucket(at(5 * DAY), 7.0, 7.0, 7.0, 1)
        ]
        # A point older than what retention keeps is not stored again.
        await store.write([Point("d", "m", T0 + 10, 1.0)])
        await store.flush()
        assert tables(path, "raw") == [f"raw_{int(T0) // DAY + 5}"]
        latest = await store.latest(["d"])
        assert latest == {"d": {"m": Sample(at(5 * DAY), 7.0)}}
    finally:
        await store.close()


# Points in a few hours, on a 0.5 s grid so duplicates (same series and time) happen.
_points = st.lists(
    st.tuples(
        st.sampled_from(["a", "b"]),
        st.integers(min_value=-600, max_value=4 * HOUR * 2),
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    ),
    min_size=1,
    max_size=200,
)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    batches=st.lists(_points, min_size=1, max_size=4),
    every=st.sampled_from([60, 600, 3600, 7200, 90, 5400]),
    # Ragged window edges: the rollups serve whole buckets, narrower tiers the edges.
    trim=st.tuples(st.integers(0, 2 * HOUR), st.integers(0, 2 * HOUR)),
)
def test_rollups_equal_the_aggregates_of_the_raw_points(
    batches: list[list[tuple[str, int, float]]], every: int, trim: tuple[int, int]
) -> None:
    asyncio.run(_check_rollups(batches, every, trim))


async def _check_rollups(
    batches: list[list[tuple[str, int, float]]], every: int, trim: tuple[int, int]
) -> None:
    start, end = T0 - HOUR + trim[0], T0 + 5 * HOUR - trim[1]
    with tempfile.TemporaryDirectory() as directory:
        store = SqliteTimeSeries(Path(directory) / "t.sqlite3", StoreOptions(chunk_hours=1))
        await store.open()
        try:
            stored: dict[int, float] = {}  # half-seconds -> value of series "a"
            for batch in batches:
                await store.write([Point(d, "m", T0 + t / 2, v) for d, t, v in batch])
                stored.update({t: v for d, t, v in batch if d == "a"})
            got = await store.read_buckets(
                device_id="a",
                metric="m",
                start=datetime.fromtimestamp(start, UTC),
                end=datetime.fromtimestamp(end, UTC),
                every_s=every,
            )
        finally:
            await store.close()
    expected: defaultdict[float, list[float]] = defaultdict(list)
    for t, value in stored.items():
        ts = T0 + t / 2
        if start <= ts < end:
            expected[ts - ts % every].append(value)
    if every % 60 == 0:  # buckets that the rollups tile exactly
        assert [(b.ts.timestamp(), b.count, b.min, b.max) for b in got] == [
            (ts, len(values), min(values), max(values)) for ts, values in sorted(expected.items())
        ]
        for bucket in got:
            values = expected[bucket.ts.timestamp()]
            assert math.isclose(bucket.mean, math.fsum(values) / len(values), abs_tol=1e-6)
    else:  # wider than a minute but not a multiple: rollup minutes count where they start
        inside = [value for values in expected.values() for value in values]
        assert sum(b.count for b in got) == len(inside)
        assert min((b.min for b in got), default=None) == min(inside, default=None)


async def test_the_single_table_layout_is_migrated_on_open(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE telemetry (device_id TEXT NOT NULL, metric TEXT NOT NULL,"
            " ts_us INTEGER NOT NULL, value REAL NOT NULL,"
            " PRIMARY KEY (device_id, metric, ts_us)) WITHOUT ROWID"
        )
        connection.executemany(
            "INSERT INTO telemetry VALUES (?, ?, ?, ?)",
            [
                ("pipe-1", "flow_lpm", int((T0 + s) * 1_000_000), float(s))
                for s in (0, 59, 60, DAY + 1)
            ]
            + [("light-1", "lux", int(T0 * 1_000_000), 3.0)],
        )
    connection.close()
    store = SqliteTimeSeries(path)
    await store.open()
    try:
        raw = await store.read(device_id="pipe-1", metric="flow_lpm", start=at(0), end=at(2 * DAY))
        assert raw == [Sample(at(s), float(s)) for s in (0, 59, 60, DAY + 1)]
        minutes = await store.read_buckets(
            device_id="pipe-1", metric="flow_lpm", start=at(0), end=at(2 * DAY), every_s=60
        )
        assert minutes == [
            Bucket(at(0), 29.5, 0.0, 59.0, 2),
            Bucket(at(60), 60.0, 60.0, 60.0, 1),
            Bucket(at(DAY), DAY + 1.0, DAY + 1.0, DAY + 1.0, 1),
        ]
        assert await store.latest(["pipe-1", "light-1"]) == {
            "pipe-1": {"flow_lpm": Sample(at(DAY + 1), DAY + 1.0)},
            "light-1": {"lux": Sample(at(0), 3.0)},
        }
        await store.write([Point("pipe-1", "flow_lpm", T0 + 2, 2.0)])
    finally:
        await store.close()
    with sqlite3.connect(path) as connection:
        legacy = connection.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'telemetry'"
        ).fetchone()
    connection.close()
    assert legacy == (0,)
    assert tables(path, "raw") == [f"raw_{int(T0) // DAY}", f"raw_{int(T0) // DAY + 1}"]
