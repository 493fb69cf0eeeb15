"""Choosing a telemetry bucket width: a round number of seconds that keeps a window's
epoch-aligned buckets within the point budget (``FM_TELEMETRY_MAX_POINTS``)."""

from __future__ import annotations

import math
from datetime import datetime

from storage.tsdb.window import MICROS_PER_SECOND, datetime_to_us

_MINUTE = 60
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
#: Widths a chart axis reads well, in seconds; past the last one, whole days.
ROUND_WIDTHS_S = (
    1,
    2,
    5,
    10,
    15,
    30,
    _MINUTE,
    2 * _MINUTE,
    5 * _MINUTE,
    10 * _MINUTE,
    15 * _MINUTE,
    30 * _MINUTE,
    _HOUR,
    2 * _HOUR,
    3 * _HOUR,
    6 * _HOUR,
    12 * _HOUR,
    _DAY,
    2 * _DAY,
    3 * _DAY,
    7 * _DAY,
)


def bucket_count(start: datetime, end: datetime, every_s: int) -> int:
    """How many epoch-aligned buckets of ``every_s`` the window ``[start, end)`` touches."""
    start_us, end_us = datetime_to_us(start), datetime_to_us(end)
    if end_us <= start_us:
        return 0
    every_us = every_s * MICROS_PER_SECOND
    return (end_us - 1) // every_us - start_us // every_us + 1


def _round_up(width_s: int) -> int:
    for round_width in ROUND_WIDTHS_S:
        if round_width >= width_s:
            return round_width
    return math.ceil(width_s / _DAY) * _DAY


def choose_every(
    start: datetime, end: datetime, *, requested_s: int | None, max_points: int
) -> int:
    """The bucket width in whole seconds for ``[start, end)``: the requested one when its
    buckets fit ``max_points``, else the smallest round width (at least the requested) that fits.
    """
    if requested_s is not None and bucket_count(start, end, requested_s) <= max_points:
        return requested_s
    window_s = (datetime_to_us(end) - datetime_to_us(start)) / MICROS_PER_SECOND
    # An unaligned window touches at most one bucket more than it spans, hence max_points - 1.
    at_least = max(requested_s or 1, math.ceil(window_s / max(max_points - 1, 1)))
    every_s = _round_up(at_least)
    while bucket_count(start, end, every_s) > max_points:  # never loops with max_points >= 2
        every_s = _round_up(every_s + 1)
    return every_s
