"""Calendar buckets cut at local midnight, partial at the window's edges, DST-aware."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reports.buckets import MAX_BUCKETS, BucketSize, bucket_edges
from reports.errors import InvalidWindowError

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_days_start_at_local_midnight_and_edges_are_partial() -> None:
    start = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
    end = datetime(2024, 5, 3, 0, 0, tzinfo=UTC)
    edges = bucket_edges(start, end, BucketSize.DAY, SHANGHAI)
    assert edges == [
        start,
        datetime(2024, 5, 1, 16, 0, tzinfo=UTC),  # 2 May 00:00 local
        datetime(2024, 5, 2, 16, 0, tzinfo=UTC),
        end,
    ]


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    start = datetime(2024, 1, 10, tzinfo=UTC)
    end = datetime(2024, 3, 15, tzinfo=UTC)
    weeks = bucket_edges(start, end, BucketSize.WEEK, ZoneInfo("UTC"))
    assert all(edge.weekday() == 0 for edge in weeks[1:-1])
    assert weeks[1] == datetime(2024, 1, 15, tzinfo=UTC)
    months = bucket_edges(start, end, BucketSize.MONTH, ZoneInfo("UTC"))
    assert months == [
        start,
        datetime(2024, 2, 1, tzinfo=UTC),
        datetime(2024, 3, 1, tzinfo=UTC),
        end,
    ]


def test_december_rolls_into_january() -> None:
    start = datetime(2023, 12, 5, tzinfo=UTC)
    end = datetime(2024, 1, 5, tzinfo=UTC)
    assert bucket_edges(start, end, BucketSize.MONTH, ZoneInfo("UTC"))[1] == datetime(
        2024, 1, 1, tzinfo=UTC
    )


def test_a_daylight_saving_day_is_23_hours_long() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2024, 3, 30, 12, tzinfo=UTC)
    end = start + timedelta(days=3)
    edges = bucket_edges(start, end, BucketSize.DAY, berlin)
    assert edges[2] - edges[1] == timedelta(hours=23)


def test_a_window_of_too_many_buckets_is_refused() -> None:
    start = datetime(2000, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=MAX_BUCKETS + 1)
    with pytest.raises(InvalidWindowError, match="coarser bucket"):
        bucket_edges(start, end, BucketSize.DAY, ZoneInfo("UTC"))
    assert len(bucket_edges(start, end, BucketSize.MONTH, ZoneInfo("UTC"))) > 2
