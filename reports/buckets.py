"""Calendar buckets (day, week, month) of a window, cut at midnight in the street's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from reports.errors import InvalidWindowError

#: Most buckets one answer has (ten years of days): a longer window needs a coarser bucket.
MAX_BUCKETS = 3660


class BucketSize(StrEnum):
    """How long one chart bucket is; weeks start on Monday (ISO 8601)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def _first_day(local: date, size: BucketSize) -> date:
    if size is BucketSize.DAY:
        return local
    if size is BucketSize.WEEK:
        return local - timedelta(days=local.weekday())
    return local.replace(day=1)


def _next_day(day: date, size: BucketSize) -> date:
    if size is BucketSize.DAY:
        return day + timedelta(days=1)
    if size is BucketSize.WEEK:
        return day + timedelta(weeks=1)
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    # Built from wall-clock fields so a DST change makes that day 23 or 25 hours long.
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def bucket_edges(
    start: datetime, end: datetime, size: BucketSize, zone: ZoneInfo
) -> list[datetime]:
    """``[start, boundaries inside the window…, end]``: the first and last may be partial."""
    edges = [start]
    day = _next_day(_first_day(start.astimezone(zone).date(), size), size)
    boundary = _local_midnight(day, zone)
    while boundary < end:
        if boundary > start:
            edges.append(boundary)
        if len(edges) > MAX_BUCKETS:
            raise InvalidWindowError(
                f"the window holds more than {MAX_BUCKETS} {size.value} buckets;"
                " ask for a shorter window or a coarser bucket"
            )
        day = _next_day(day, size)
        boundary = _local_midnight(day, zone)
    edges.append(end)
    return edges
