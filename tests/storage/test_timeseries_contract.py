"""The TimeSeriesStore contract, run identically on SQLite and on a real InfluxDB server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.tsdb.port import Aggregate, Point, Sample, TimeSeriesError, TimeSeriesStore

T0 = 1_740_000_000.0  # 2025-02-19T21:20:00Z, a multiple of 60 s
START = datetime.fromtimestamp(T0, UTC)


def at(seconds: float) -> datetime:
    """START + seconds."""
    return START + timedelta(seconds=seconds)


async def read_all(store: TimeSeriesStore, device_id: str, metric: str) -> list[Sample]:
    return await store.read(device_id=device_id, metric=metric, start=at(-3600), end=at(3600))


async def test_round_trip_in_time_order(store: TimeSeriesStore) -> None:
    await store.write(
        [
            Point("light-1", "current_a", T0 + 2.5, 0.25),
            Point("light-1", "current_a", T0, 0.5),
            Point("light-1", "current_a", T0 + 1.000001, -1.75),
        ]
    )
    assert await read_all(store, "light-1", "current_a") == [
        Sample(at(0), 0.5),
        Sample(at(1.000001), -1.75),
        Sample(at(2.5), 0.25),
    ]


async def test_a_duplicate_point_replaces_the_old_one(store: TimeSeriesStore) -> None:
    await store.write(
        [Point("pipe-1", "pressure_kpa", T0, 300.0), Point("pipe-1", "flow_lpm", T0, 5.0)]
    )
    await store.write([Point("pipe-1", "pressure_kpa", T0, 120.0)])
    await store.write(
        [Point("pipe-1", "pressure_kpa", T0 + 1, 1.0), Point("pipe-1", "pressure_kpa", T0 + 1, 2.0)]
    )
    assert await read_all(store, "pipe-1", "pressure_kpa") == [
        Sample(at(0), 120.0),
        Sample(at(1), 2.0),
    ]
    # Rewriting one metric leaves the other metric of the same device and instant alone.
    assert await read_all(store, "pipe-1", "flow_lpm") == [Sample(at(0), 5.0)]


async def test_window_is_start_inclusive_end_exclusive_and_one_series(
    store: TimeSeriesStore,
) -> None:
    await store.write(
        [Point("shed-1", "temp_c", T0 + s, float(s)) for s in (-1, 0, 5, 9, 10)]
        + [Point("shed-2", "temp_c", T0 + 5, 99.0), Point("shed-1", "power_w", T0 + 5, 98.0)]
    )
    window = await store.read(device_id="shed-1", metric="temp_c", start=at(0), end=at(10))
    assert window == [Sample(at(0), 0.0), Sample(at(5), 5.0), Sample(at(9), 9.0)]
    assert await store.read(device_id="shed-1", metric="temp_c", start=at(10), end=at(10)) == []
    assert await store.read(device_id="shed-1", metric="temp_c", start=at(10), end=at(0)) == []
    assert await store.read(device_id="nobody", metric="temp_c", start=at(0), end=at(10)) == []


# Two buckets of 10 s: [0, 10) holds 1, 4, 2 (last written at 7 s); [20, 30) holds 8.
BUCKET_POINTS = [(0.0, 1.0), (3.0, 4.0), (7.0, 2.0), (25.0, 8.0)]
EXPECTED_BUCKETS = {
    Aggregate.MEAN: [7 / 3, 8.0],
    Aggregate.MIN: [1.0, 8.0],
    Aggregate.MAX: [4.0, 8.0],
    Aggregate.SUM: [7.0, 8.0],
    Aggregate.COUNT: [3.0, 1.0],
    Aggregate.LAST: [2.0, 8.0],
}
EXPECTED_WHOLE = {
    Aggregate.MEAN: 15 / 4,
    Aggregate.MIN: 1.0,
    Aggregate.MAX: 8.0,
    Aggregate.SUM: 15.0,
    Aggregate.COUNT: 4.0,
    Aggregate.LAST: 8.0,
}


@pytest.mark.parametrize("aggregate", list(Aggregate))
async def test_aggregate_in_epoch_aligned_buckets(
    store: TimeSeriesStore, aggregate: Aggregate
) -> None:
    await store.write([Point("pipe-2", "level_cm", T0 + s, v) for s, v in BUCKET_POINTS])
    samples = await store.read(
        device_id="pipe-2",
        metric="level_cm",
        start=at(0),
        end=at(60),
        aggregate=aggregate,
        every_s=10,
    )
    assert [s.ts for s in samples] == [at(0), at(20)]  # empty buckets are left out
    assert [s.value for s in samples] == pytest.approx(EXPECTED_BUCKETS[aggregate])


@pytest.mark.parametrize("aggregate", list(Aggregate))
async def test_aggregate_over_the_whole_window(
    store: TimeSeriesStore, aggregate: Aggregate
) -> None:
    await store.write([Point("pipe-2", "level_cm", T0 + s, v) for s, v in BUCKET_POINTS])
    samples = await store.read(
        device_id="pipe-2", metric="level_cm", start=at(-5), end=at(60), aggregate=aggregate
    )
    assert [s.ts for s in samples] == [at(-5)]
    assert samples[0].value == pytest.approx(EXPECTED_WHOLE[aggregate])
    empty = await store.read(
        device_id="pipe-2", metric="level_cm", start=at(100), end=at(200), aggregate=aggregate
    )
    assert empty == []


async def test_bucket_start_is_floored_even_when_the_window_is_not_aligned(
    store: TimeSeriesStore,
) -> None:
    await store.write([Point("light-2", "lux", T0 + s, 1.0) for s in (3.0, 4.5, 12.0, 59.0)])
    samples = await store.read(
        device_id="light-2",
        metric="lux",
        start=at(3),
        end=at(61),
        aggregate=Aggregate.COUNT,
        every_s=15,
    )
    assert samples == [Sample(at(0), 3.0), Sample(at(45), 1.0)]


async def test_sub_second_buckets(store: TimeSeriesStore) -> None:
    await store.write([Point("light-3", "lux", T0 + s, s) for s in (0.0, 0.1, 0.25, 0.26, 0.7)])
    samples = await store.read(
        device_id="light-3",
        metric="lux",
        start=at(0),
        end=at(1),
        aggregate=Aggregate.MAX,
        every_s=0.25,
    )
    assert samples == [Sample(at(0), 0.1), Sample(at(0.25), 0.26), Sample(at(0.5), 0.7)]


async def test_bools_and_ints_are_stored_as_floats(store: TimeSeriesStore) -> None:
    await store.write([Point("shed-3", "smoke", T0, True), Point("shed-3", "smoke", T0 + 1, False)])
    await store.write([Point("shed-3", "ports_in_use", T0, 3)])
    smoke = await read_all(store, "shed-3", "smoke")
    assert smoke == [Sample(at(0), 1.0), Sample(at(1), 0.0)]
    assert all(type(sample.value) is float for sample in smoke)
    assert await read_all(store, "shed-3", "ports_in_use") == [Sample(at(0), 3.0)]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
async def test_a_non_finite_value_refuses_the_whole_batch(
    store: TimeSeriesStore, bad: float
) -> None:
    with pytest.raises(TimeSeriesError):
        await store.write(
            [Point("pipe-3", "temp_c", T0, 1.0), Point("pipe-3", "temp_c", T0 + 1, bad)]
        )
    assert await read_all(store, "pipe-3", "temp_c") == []


ODD_DEVICES = [
    "dev with space",
    "a,b=c",
    'quo"te',
    "o'brien",
    "back\\slash",
    "ünïcødé-水管",
    "=,= ",
]
ODD_METRICS = ["temp c", "a=b,c", 'q"m', "it's", "x\\y", "温度"]


async def test_odd_device_ids_and_metric_names_round_trip_separately(
    store: TimeSeriesStore,
) -> None:
    points = [
        Point(device, metric, T0 + i, float(i * 100 + j))
        for i, device in enumerate(ODD_DEVICES)
        for j, metric in enumerate(ODD_METRICS)
    ]
    await store.write(points)
    for point in points:
        got = await read_all(store, point.device_id, point.metric)
        assert got == [Sample(at(point.ts - T0), point.value)], (point.device_id, point.metric)


async def test_read_arguments_are_checked(store: TimeSeriesStore) -> None:
    with pytest.raises(ValueError, match="naive"):
        await store.read(device_id="d", metric="m", start=datetime(2025, 1, 1), end=at(1))
    with pytest.raises(ValueError, match="aggregate"):
        await store.read(device_id="d", metric="m", start=at(0), end=at(1), every_s=10)
    with pytest.raises(ValueError, match="microsecond"):
        await store.read(
            device_id="d", metric="m", start=at(0), end=at(1), aggregate=Aggregate.MEAN, every_s=0
        )


async def test_open_is_idempotent_and_ping_follows_close(store: TimeSeriesStore) -> None:
    await store.open()
    assert await store.ping() is True
    await store.write([Point("d-1", "m", T0, 1.0)])
    await store.close()
    assert await store.ping() is False
    with pytest.raises(TimeSeriesError, match="not open"):
        await store.write([Point("d-1", "m", T0, 2.0)])
    await store.close()  # closing twice is fine
    await store.open()  # and the data is still there
    assert await read_all(store, "d-1", "m") == [Sample(at(0), 1.0)]


async def test_empty_batch_is_a_no_op(store: TimeSeriesStore) -> None:
    await store.write([])
    assert await read_all(store, "d-1", "m") == []
