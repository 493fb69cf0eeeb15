"""Bucket width choice: never more buckets than the budget, from one minute to two years."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from api.devices.buckets import ROUND_WIDTHS_S, bucket_count, choose_every
from core.settings import Settings

MINUTE_S = 60
TWO_YEARS_S = 2 * 366 * 86_400
DEFAULT_MAX_POINTS = Settings.model_fields["telemetry_max_points"].default

starts = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)
windows_s = st.floats(min_value=MINUTE_S, max_value=TWO_YEARS_S, allow_nan=False)


def touched(start: datetime, end: datetime, every_s: int) -> int:
    """Epoch-aligned buckets touching [start, end), counted one by one (brute force)."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    every = timedelta(seconds=every_s)
    bucket = epoch + ((start - epoch) // every) * every
    count = 0
    while bucket < end:
        count += 1
        bucket += every
    return count


@given(
    start=starts,
    window_s=windows_s,
    requested_s=st.none() | st.integers(min_value=1, max_value=TWO_YEARS_S),
    max_points=st.integers(min_value=2, max_value=1_000) | st.just(DEFAULT_MAX_POINTS),
)
def test_buckets_never_exceed_the_budget_and_never_narrow_the_request(
    start: datetime, window_s: float, requested_s: int | None, max_points: int
) -> None:
    end = start + timedelta(seconds=window_s)
    every_s = choose_every(start, end, requested_s=requested_s, max_points=max_points)
    assert isinstance(every_s, int)
    assert 1 <= bucket_count(start, end, every_s) <= max_points
    if requested_s is not None:
        assert every_s >= requested_s


@given(
    start=starts,
    window_s=st.floats(min_value=0.5, max_value=5 * 86_400, allow_nan=False),
    every_s=st.sampled_from(ROUND_WIDTHS_S),
)
def test_bucket_count_matches_counting_them(start: datetime, window_s: float, every_s: int) -> None:
    end = start + timedelta(seconds=window_s)
    assert bucket_count(start, end, every_s) == touched(start, end, every_s)


def test_a_fitting_request_is_kept_and_an_unfitting_one_widens_to_a_round_width() -> None:
    start = datetime(2025, 3, 1, tzinfo=UTC)
    hour = start + timedelta(hours=1)
    assert choose_every(start, hour, requested_s=13, max_points=300) == 13
    assert choose_every(start, hour, requested_s=None, max_points=300) == 15
    assert choose_every(start, hour, requested_s=1, max_points=300) == 15
    week = start + timedelta(days=7)
    assert choose_every(start, week, requested_s=None, max_points=300) == 3_600
    two_years = start + timedelta(seconds=TWO_YEARS_S)
    assert choose_every(start, two_years, requested_s=None, max_points=300) == 3 * 86_400
