"""What both time-series adapters share: the read window and the microsecond time grid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage.tsdb.port import Aggregate

#: Both stores keep timestamps as integer microseconds (the resolution of ``datetime``); a
#: point's ``ts`` becomes ``int(ts * MICROS_PER_SECOND + 0.5)`` in SQLite and InfluxDB alike,
#: so "the same ts" (duplicate replaces) means the same thing on every adapter.
MICROS_PER_SECOND = 1_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)


def epoch_us(ts: float) -> int:
    """Epoch seconds to integer microseconds, rounded the way the SQLite adapter rounds."""
    return int(ts * 1_000_000.0 + 0.5)


def datetime_to_us(moment: datetime) -> int:
    """An aware datetime to exact integer epoch microseconds."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: read windows need aware UTC times")
    return (moment - EPOCH) // _ONE_MICROSECOND


def us_to_datetime(micros: int) -> datetime:
    """Integer epoch microseconds to an aware UTC datetime, exactly."""
    return EPOCH + timedelta(microseconds=micros)


@dataclass(frozen=True, slots=True)
class ReadWindow:
    """A validated read: ``[start_us, end_us)``, optional aggregate over ``every_us`` buckets."""

    start_us: int
    end_us: int
    aggregate: Aggregate | None
    every_us: int | None

    @property
    def empty(self) -> bool:
        """True when the window holds no instant at all."""
        return self.end_us <= self.start_us


def read_window(
    *, start: datetime, end: datetime, aggregate: Aggregate | None, every_s: float | None
) -> ReadWindow:
    """Check the arguments of ``TimeSeriesStore.read`` and convert them to the microsecond grid.

    ``every_s`` needs an aggregate; an aggregate without ``every_s`` reduces the whole window
    to one sample stamped ``start``.
    """
    every_us: int | None = None
    if every_s is not None:
        if aggregate is None:
            raise ValueError("every_s buckets need an aggregate")
        every_us = _every_us(every_s)
    return ReadWindow(
        start_us=datetime_to_us(start),
        end_us=datetime_to_us(end),
        aggregate=Aggregate(aggregate) if aggregate is not None else None,
        every_us=every_us,
    )


def bucket_window(*, start: datetime, end: datetime, every_s: float) -> ReadWindow:
    """Check the arguments of ``TimeSeriesStore.read_buckets``; ``aggregate`` stays None because
    a bucket carries every reduction at once."""
    return ReadWindow(
        start_us=datetime_to_us(start),
        end_us=datetime_to_us(end),
        aggregate=None,
        every_us=_every_us(every_s),
    )


def _every_us(every_s: float) -> int:
    every_us = round(every_s * MICROS_PER_SECOND)
    if every_us < 1:
        raise ValueError(f"every_s must be at least one microsecond, got {every_s!r}")
    return every_us
