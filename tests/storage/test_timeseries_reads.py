"""``latest`` and ``read_buckets`` of the TimeSeriesStore port, on SQLite and a real InfluxDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.tsdb.port import Bucket, Point, Sample, TimeSeriesStore

T0 = 1_740_000_000.0  # 2025-02-19T21:20:00Z, a multiple of 60 s
START = datetime.fromtimestamp(T0, UTC)


def at(seconds: float) -> datetime:
    """START + seconds."""
    return START + timedelta(seconds=seconds)


async def test_latest_is_each_metrics_newest_sample_per_device(store: TimeSeriesStore) -> None:
    await store.write(
        [
            Point("pipe-1", "pressure_kpa", T0 + 10, 300.0),
            Point("pipe-1", "pressure_kpa", T0 + 70, 290.0),
            Point("pipe-1", "leak", T0 + 5, True),
            Point("pipe-1", "leak", T0 + 65, False),
            # Written after, but older: the newest by time wins, not the last written.
            Point("pipe-1", "pressure_kpa", T0 + 30, 1.0),
            Point("light-1", "lamp_on", T0 + 1, True),
            Point("other", "lux", T0 + 99, 5.0),
        ]
    )
    latest = await store.latest(["pipe-1", "light-1", "silent"])
    assert latest == {
        "pipe-1": {
            "pressure_kpa": Sample(at(70), 290.0),
            "leak": Sample(at(65), 0.0),
        },
        "light-1": {"lamp_on": Sample(at(1), 1.0)},
    }
    assert await store.latest([]) == {}


async def test_latest_with_odd_device_ids_and_metric_names(store: TimeSeriesStore) -> None:
    odd = ["dev with space", "a,b=c", 'quo"te', "o'brien", "back\\slash", "水管|.*", "x/y"]
    await store.write([Point(device, "temp c", T0 + n, float(n)) for n, device in enumerate(odd)])
    await store.write([Point("plain-1", "温度", T0, 1.0), Point("plain-10", "温度", T0, 2.0)])
    latest = await store.latest([*odd, "plain-1"])
    assert latest == {
        **{device: {"temp c": Sample(at(n), float(n))} for n, device in enumerate(odd)},
        "plain-1": {"温度": Sample(at(0), 1.0)},  # anchored: plain-10 does not match plain-1
    }
    assert await store.latest(["plain-1", "nobody"]) == {"plain-1": {"温度": Sample(at(0), 1.0)}}


async def test_latest_on_an_empty_store_is_empty(store: TimeSeriesStore) -> None:
    assert await store.latest(["pipe-1"]) == {}


async def test_latest_covers_more_devices_than_one_statement_takes(
    store: TimeSeriesStore,
) -> None:
    devices = [f"dev-{n:04d}" for n in range(671)]
    await store.write(
        [Point(device, "temp_c", T0 + n, float(n)) for n, device in enumerate(devices)]
        + [Point(device, "power_w", T0, 1.0) for device in devices[1::2]]
    )
    latest = await store.latest(devices)
    assert len(latest) == len(devices)
    assert latest["dev-0670"] == {"temp_c": Sample(at(670), 670.0)}
    assert latest["dev-0669"] == {"temp_c": Sample(at(669), 669.0), "power_w": Sample(at(0), 1.0)}


async def test_buckets_carry_mean_min_max_and_count_at_their_epoch_aligned_start(
    store: TimeSeriesStore,
) -> None:
    # The window starts at 2 s: [0, 10) is stamped 0 but holds only 4 and 2 of the window;
    # [10, 20) has no level reading and is left out; [20, 30) holds 8.
    await store.write(
        [Point("pipe-2", "level_cm", T0 + s, v) for s, v in ((0, 1), (3, 4), (7, 2), (25, 8))]
        + [Point("pipe-2", "flow_lpm", T0 + 12, 50.0)]
    )
    buckets = await store.read_buckets(
        device_id="pipe-2", metric="level_cm", start=at(2), end=at(60), every_s=10
    )
    assert buckets == [
        Bucket(at(0), 3.0, 2.0, 4.0, 2),
        Bucket(at(20), 8.0, 8.0, 8.0, 1),
    ]
    assert all(type(b.count) is int and type(b.mean) is float for b in buckets)


async def test_boolean_buckets_average_to_the_share_of_true(store: TimeSeriesStore) -> None:
    await store.write([Point("shed-1", "smoke", T0 + s, s in (1, 2, 3)) for s in range(8)])
    (bucket,) = await store.read_buckets(
        device_id="shed-1", metric="smoke", start=at(0), end=at(60), every_s=60
    )
    assert (bucket.mean, bucket.min, bucket.max, bucket.count) == (3 / 8, 0.0, 1.0, 8)


async def test_buckets_of_an_empty_or_inverted_window_are_empty(store: TimeSeriesStore) -> None:
    await store.write([Point("light-2", "lux", T0 + 5, 10.0)])
    empty_window = await store.read_buckets(
        device_id="light-2", metric="lux", start=at(100), end=at(200), every_s=10
    )
    inverted = await store.read_buckets(
        device_id="light-2", metric="lux", start=at(10), end=at(0), every_s=10
    )
    unknown = await store.read_buckets(
        device_id="nobody", metric="lux", start=at(0), end=at(10), every_s=10
    )
    assert empty_window == inverted == unknown == []


async def test_bucket_width_is_checked(store: TimeSeriesStore) -> None:
    with pytest.raises(ValueError, match="microsecond"):
        await store.read_buckets(device_id="d", metric="m", start=at(0), end=at(1), every_s=0)
