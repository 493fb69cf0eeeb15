"""SQLite time-series adapter specifics: file layout, WAL, batches, concurrency."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.tsdb.port import Aggregate, Point, TimeSeriesError
from storage.tsdb.sqlite import SqliteTimeSeries

T0 = 1_740_000_000.0
START = datetime.fromtimestamp(T0, UTC)


async def test_creates_directory_chunk_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "telemetry.sqlite3"
    store = SqliteTimeSeries(path)
    await store.open()
    try:
        await store.write([Point("d", "m", T0 + 0.0000015, 1.5)])
    finally:
        await store.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        (name,) = connection.execute("SELECT name FROM chunks WHERE tier = 'raw'").fetchone()
        rows = connection.execute(
            f'SELECT s.device_id, s.metric, r.ts_us, r.value FROM "{name}" AS r '
            "JOIN series AS s ON s.id = r.series_id"
        ).fetchall()
    connection.close()
    # Microsecond grid, rounded half up: 1.5 µs → 2 µs; one chunk per day by default.
    assert rows == [("d", "m", 1_740_000_000_000_002, 1.5)]
    assert name == f"raw_{1_740_000_000 // 86_400}"


async def test_concurrent_batches_all_land_and_reads_run_alongside(tmp_path: Path) -> None:
    store = SqliteTimeSeries(tmp_path / "t.sqlite3")
    await store.open()
    try:
        batches = [
            [Point(f"dev-{d}", "power_w", T0 + b, float(b)) for d in range(200)] for b in range(20)
        ]
        async with asyncio.TaskGroup() as group:
            for batch in batches[: len(batches) // 2]:
                group.create_task(store.write(batch))
            reading = group.create_task(
                store.read(
                    device_id="dev-0",
                    metric="power_w",
                    start=START,
                    end=START + timedelta(hours=1),
                    aggregate=Aggregate.COUNT,
                )
            )
            for batch in batches[len(batches) // 2 :]:
                group.create_task(store.write(batch))
        # The read sees some committed prefix of the batches, never a half-written one.
        seen = [s.value for s in reading.result()]
        assert seen in ([], *([float(n)] for n in range(1, len(batches) + 1)))
        total = await store.read(
            device_id="dev-199",
            metric="power_w",
            start=START,
            end=START + timedelta(hours=1),
            aggregate=Aggregate.COUNT,
        )
        assert [s.value for s in total] == [20.0]
    finally:
        await store.close()


async def test_close_waits_for_batches_already_handed_over(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite3"
    store = SqliteTimeSeries(path)
    await store.open()
    batches = [[Point("d", "m", T0 + b * 100 + i, 1.0) for i in range(100)] for b in range(10)]
    writes = [asyncio.ensure_future(store.write(batch)) for batch in batches]
    await asyncio.sleep(0)  # let every write hand its batch to the writer thread
    await store.close()
    await asyncio.gather(*writes)
    reopened = SqliteTimeSeries(path)
    await reopened.open()
    try:
        count = await reopened.read(
            device_id="d",
            metric="m",
            start=START,
            end=START + timedelta(hours=1),
            aggregate=Aggregate.COUNT,
        )
    finally:
        await reopened.close()
    assert [s.value for s in count] == [1000.0]


async def test_a_failed_batch_leaves_nothing_behind(tmp_path: Path) -> None:
    store = SqliteTimeSeries(tmp_path / "t.sqlite3")
    await store.open()
    try:
        good = [Point("d", "m", T0 + i, float(i)) for i in range(1000)]
        with pytest.raises(TimeSeriesError, match="IntegrityError") as caught:
            await store.write([*good, Point("d", "m", T0 + 5000, float("nan"))])
        assert str(tmp_path) in caught.value.store
        assert (
            await store.read(device_id="d", metric="m", start=START, end=START + timedelta(hours=2))
            == []
        )
    finally:
        await store.close()


async def test_unusable_path_raises_time_series_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    store = SqliteTimeSeries(blocker / "telemetry.sqlite3")
    with pytest.raises(TimeSeriesError):
        await store.open()
    assert await store.ping() is False
