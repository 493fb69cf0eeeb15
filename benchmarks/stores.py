"""The time-series stores on their own: the embedded store's write rate as history grows (and the
single-table layout it replaced, on the same stream), its bytes on disk and a month of the demo
fleet, and the InfluxDB adapter against a direct line-protocol writer into the same influxd."""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.influx_server import influxd
from benchmarks.support import bench_site
from core.settings import Settings
from governance.model import Site
from sensors.profiles import PROFILES
from storage.tsdb.influx import InfluxV1TimeSeries
from storage.tsdb.options import SECONDS_PER_DAY, SeriesTags, StoreOptions
from storage.tsdb.port import Point
from storage.tsdb.sqlite import SqliteTimeSeries

#: The demo fleet's reading interval and the gateway's batch size: the defaults.
DEFAULTS = Settings()
INTERVAL_S = DEFAULTS.simulate_interval_s
BATCH = DEFAULTS.tsdb_batch_size
DAYS_PER_MONTH = 30
FIFTHS = 5
TENTHS = 10
SEED = 12
#: Decimal places of generated values: integral (bools, counters) or two.
DECIMALS = (0, 2)

Reading = tuple[str, float, list[tuple[str, float]]]


@dataclass(frozen=True, slots=True)
class WriteRate:
    """Points/s over the first and the last fifth of a run, per tenth, and the run's size."""

    first: float
    last: float
    points: int
    readings: int
    tenths: tuple[float, ...] = ()
    #: First and last fifth per CPU second of this process (the machine is shared: this is
    #: the work per point, whatever else runs).
    cpu: tuple[float, float] = (0.0, 0.0)

    @property
    def ratio(self) -> float:
        """Last fifth over first fifth."""
        return self.last / self.first


@dataclass(frozen=True, slots=True)
class DayOnDisk:
    """Bytes of one measured day per tier, scaled to the whole demo fleet."""

    raw: float
    minute: float
    hour: float
    readings: int
    points: int


def series_tags(site: Site) -> dict[str, SeriesTags]:
    """Each device's type and places, as ``fm`` hands them to the store."""
    tags: dict[str, SeriesTags] = {}
    for device in site.devices.values():
        building = site.buildings[device.building_id]
        grid = site.grids[building.grid_id]
        tags[device.id] = SeriesTags(device.type, building.id, grid.id, grid.community_id)
    return tags


def fleet(share: float = 1.0) -> list[tuple[str, list[str]]]:
    """The demo site's devices (a leading ``share`` of them) with their metrics."""
    devices = sorted(bench_site().devices.values(), key=lambda device: device.id)
    chosen = devices[: max(1, round(len(devices) * share))]
    return [(device.id, list(PROFILES[device.type].metrics)) for device in chosen]


def readings(devices: list[tuple[str, list[str]]], start: float, count: int) -> Iterator[Reading]:
    """The fleet reporting every INTERVAL_S from ``start``: ``count`` readings in time order."""
    rng = random.Random(SEED)
    produced = 0
    tick = 0
    while produced < count:
        base = start + tick * INTERVAL_S
        for index, (device_id, metrics) in enumerate(devices):
            if produced == count:
                return
            ts = base + INTERVAL_S * index / len(devices)
            # Two decimals, as sensors report; bools and counters come out integral.
            values = [
                (metric, round(rng.uniform(0, 300), rng.choice((0, 2)))) for metric in metrics
            ]
            yield device_id, ts, values
            produced += 1
        tick += 1


def batches(stream: Iterator[Reading], size: int = BATCH) -> Iterator[list[Point]]:
    """The gateway's batches: whole readings, about ``size`` points each."""
    batch: list[Point] = []
    for device_id, ts, values in stream:
        batch.extend(Point(device_id, metric, ts, value) for metric, value in values)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _tenths(samples: list[tuple[int, float]]) -> tuple[float, ...]:
    """Points/s of each tenth of the batches, in order."""
    size = max(1, len(samples) // TENTHS)
    parts = [samples[first : first + size] for first in range(0, size * TENTHS, size)]
    return tuple(sum(n for n, _ in part) / sum(t for _, t in part) for part in parts if part)


def _fifths(samples: list[tuple[int, float]]) -> tuple[float, float]:
    """Points/s of the first and last fifth of ``(points, seconds)`` batch samples."""
    total = sum(points for points, _ in samples)
    fifth = total / FIFTHS
    first = last = (0, 0.0)
    seen = 0
    for points, seconds in samples:
        if seen < fifth:
            first = (first[0] + points, first[1] + seconds)
        if seen >= total - fifth:
            last = (last[0] + points, last[1] + seconds)
        seen += points
    return first[0] / first[1], last[0] / last[1]


async def embedded_rate(path: Path, points: int, options: StoreOptions) -> WriteRate:
    """Write ``points`` of the demo fleet into a fresh embedded store, timing each batch."""
    devices = fleet()
    per_reading = sum(len(metrics) for _, metrics in devices) / len(devices)
    count = int(points / per_reading) + 1
    start = time.time() - count / len(devices) * INTERVAL_S
    store = SqliteTimeSeries(path, options)
    await store.open()
    samples: list[tuple[int, float]] = []
    cpu: list[tuple[int, float]] = []
    try:
        for batch in batches(readings(devices, start, count)):
            began, began_cpu = time.perf_counter(), time.process_time()
            await store.write(batch)
            samples.append((len(batch), time.perf_counter() - began))
            cpu.append((len(batch), time.process_time() - began_cpu))
    finally:
        await store.close()
    first, last = _fifths(samples)
    return WriteRate(first, last, sum(n for n, _ in samples), count, _tenths(samples), _fifths(cpu))


def legacy_rate(path: Path, points: int) -> WriteRate:
    """The same stream into the single-table layout the chunks replaced (its schema and
    statement as they were), on the caller's thread."""
    devices = fleet()
    per_reading = sum(len(metrics) for _, metrics in devices) / len(devices)
    count = int(points / per_reading) + 1
    start = time.time() - count / len(devices) * INTERVAL_S
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(
        "CREATE TABLE telemetry (device_id TEXT NOT NULL, metric TEXT NOT NULL,"
        " ts_us INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (device_id, metric, ts_us))"
        " WITHOUT ROWID"
    )
    samples: list[tuple[int, float]] = []
    try:
        for batch in batches(readings(devices, start, count)):
            began = time.perf_counter()
            with connection:
                connection.executemany(
                    "INSERT OR REPLACE INTO telemetry VALUES "
                    "(?, ?, CAST(? * 1000000.0 + 0.5 AS INTEGER), ?)",
                    [(p.device_id, p.metric, p.ts, p.value) for p in batch],
                )
            samples.append((len(batch), time.perf_counter() - began))
    finally:
        connection.close()
    first, last = _fifths(samples)
    return WriteRate(first, last, sum(n for n, _ in samples), count)


async def embedded_day(path: Path, share: float, options: StoreOptions) -> DayOnDisk:
    """One day of a ``share`` of the demo fleet; bytes per tier scaled to the whole fleet."""
    devices = fleet(share)
    scale = len(fleet()) / len(devices)
    count = int(SECONDS_PER_DAY / INTERVAL_S) * len(devices)
    start = float(int(time.time() // SECONDS_PER_DAY - 1) * SECONDS_PER_DAY)  # a whole day
    store = SqliteTimeSeries(path, options)
    await store.open()
    written = 0
    try:
        for batch in batches(readings(devices, start, count)):
            await store.write(batch)
            written += len(batch)
    finally:
        await store.close()
    connection = sqlite3.connect(path)
    try:
        sizes = dict(
            connection.execute(
                "SELECT CASE WHEN name LIKE 'raw%' THEN 'raw' WHEN name LIKE 'm1%' THEN 'm1'"
                " WHEN name LIKE 'h1%' THEN 'h1' ELSE 'other' END AS tier, sum(pgsize)"
                " FROM dbstat GROUP BY tier"
            ).fetchall()
        )
    finally:
        connection.close()
    return DayOnDisk(
        raw=(sizes.get("raw", 0) + sizes.get("other", 0)) * scale,
        minute=sizes.get("m1", 0) * scale,
        hour=sizes.get("h1", 0) * scale,
        readings=int(count * scale),
        points=int(written * scale),
    )


async def influx_rates(points: int) -> tuple[float, float]:
    """Points/s of the adapter and of a direct line-protocol writer, same stream and influxd."""
    devices = fleet()
    site_tags = series_tags(bench_site())
    per_reading = sum(len(metrics) for _, metrics in devices) / len(devices)
    count = int(points / per_reading) + 1
    start = time.time() - count / len(devices) * INTERVAL_S
    with influxd() as url:
        store = InfluxV1TimeSeries(f"influxdb{url.removeprefix('http')}/adapter", tags=site_tags)
        await store.open()
        try:
            began = time.perf_counter()
            written = 0
            for batch in batches(readings(devices, start, count)):
                await store.write(batch)
                written += len(batch)
            adapter = written / (time.perf_counter() - began)
        finally:
            await store.close()
        direct = await _direct_writer(url, devices, start, count, site_tags)
    return adapter, direct


async def _direct_writer(
    url: str,
    devices: list[tuple[str, list[str]]],
    start: float,
    count: int,
    site_tags: dict[str, SeriesTags],
) -> float:
    """The baseline: one f-string line per reading, posted in batches of the same size."""
    keys = {}
    for device_id, _ in devices:
        tags = site_tags[device_id]
        keys[device_id] = (
            f"{tags.facility_type},building_id={tags.building_id},"
            f"community_id={tags.community_id},device_id={device_id},"
            f"grid_id={tags.grid_id} "
        )
    async with httpx.AsyncClient(base_url=url) as client:
        await client.post("/query", data={"q": "CREATE DATABASE direct"})
        began = time.perf_counter()
        written = 0
        lines: list[str] = []
        pending = 0
        for device_id, ts, values in readings(devices, start, count):
            fields = ",".join(f"{metric}={value + 0.0!r}" for metric, value in values)
            lines.append(f"{keys[device_id]}{fields} {int(ts * 1_000_000)}")
            pending += len(values)
            if pending >= BATCH:
                await _post(client, lines)
                written += pending
                lines, pending = [], 0
        if lines:
            await _post(client, lines)
            written += pending
        return written / (time.perf_counter() - began)


async def _post(client: httpx.AsyncClient, lines: list[str]) -> None:
    response = await client.post(
        "/write", params={"db": "direct", "precision": "u"}, content="\n".join(lines).encode()
    )
    response.raise_for_status()


async def run_stores(*, points: int, influx_points: int, day_share: float) -> None:
    """Measure and print every store figure."""
    options = StoreOptions()  # the FM_TSDB_* defaults (tests/storage keeps them equal)
    print(f"\ntime-series stores (demo fleet: {len(fleet())} devices every {INTERVAL_S:g} s)")
    with tempfile.TemporaryDirectory(prefix="fm-bench-stores-") as directory:
        root = Path(directory)
        rate = await embedded_rate(root / "chunked.sqlite3", points, options)
        size = (root / "chunked.sqlite3").stat().st_size
        legacy = legacy_rate(root / "legacy.sqlite3", points)
        legacy_size = (root / "legacy.sqlite3").stat().st_size
        print(
            f"  embedded store, {rate.points:,} points with history growing (batches of {BATCH}):"
        )
        print(
            f"    chunked layout: first fifth {rate.first:10,.0f} points/s, last fifth"
            f" {rate.last:10,.0f} points/s ({rate.ratio:.0%}; target >= 90 %)"
        )
        tenths = ", ".join(f"{tenth / 1000:.0f}k" for tenth in rate.tenths)
        print(f"    per tenth: {tenths} points/s")
        cpu_first, cpu_last = rate.cpu
        print(
            f"    per CPU second: first fifth {cpu_first:10,.0f}, last fifth {cpu_last:10,.0f}"
            f" points ({cpu_last / cpu_first:.0%})"
        )
        print(
            f"    single table (before, baseline): first fifth {legacy.first:10,.0f}, last fifth"
            f" {legacy.last:10,.0f} points/s ({legacy.ratio:.0%})"
        )
        print(
            f"    on disk: {size / rate.readings:.1f} bytes per reading"
            f" ({size / rate.points:.1f} per point, rollups included);"
            f" single table {legacy_size / legacy.readings:.1f} per reading"
        )
        day = await embedded_day(root / "day.sqlite3", day_share, options)
    month = DAYS_PER_MONTH * (day.raw + day.minute + day.hour)
    steady = (
        options.retention_days * day.raw
        + options.rollup_minute_days * day.minute
        + options.rollup_hour_days * day.hour
    )
    print(
        f"  a measured day ({day_share:.0%} of the fleet, scaled): {day.points:,} points in"
        f" {day.readings:,} readings; raw {day.raw / 2**20:,.0f} MiB, per-minute rollups"
        f" {day.minute / 2**20:,.0f} MiB, per-hour {day.hour / 2**20:,.1f} MiB"
    )
    print(
        f"  a month of the demo fleet with the defaults: {month / 2**30:,.1f} GiB;"
        f" steady state ({options.retention_days} d raw, {options.rollup_minute_days} d minutes,"
        f" {options.rollup_hour_days} d hours): {steady / 2**30:,.1f} GiB"
    )
    adapter, direct = await influx_rates(influx_points)
    print(f"  InfluxDB 1.x, {influx_points:,} points (one line per reading, batches of {BATCH}):")
    print(f"    baseline: direct line-protocol writer  {direct:10,.0f} points/s")
    print(
        f"    InfluxV1TimeSeries.write               {adapter:10,.0f} points/s"
        f" ({adapter / direct:.0%})"
    )
