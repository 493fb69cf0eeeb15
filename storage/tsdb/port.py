"""The time-series store port: batched point writes, windowed aggregate reads, latest values."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Point:
    """One reading of one metric of one device; ``ts`` in epoch seconds (UTC)."""

    device_id: str
    metric: str
    ts: float
    value: float


class Aggregate(StrEnum):
    """How to reduce the points of a bucket."""

    MEAN = "mean"
    MIN = "min"
    MAX = "max"
    SUM = "sum"
    COUNT = "count"
    LAST = "last"


@dataclass(frozen=True, slots=True)
class Sample:
    """A value at a time (bucket start for aggregated reads)."""

    ts: datetime
    value: float


@dataclass(frozen=True, slots=True)
class Bucket:
    """One time bucket of a series: its start and the mean, min, max and count of its points."""

    ts: datetime
    mean: float
    min: float
    max: float
    count: int


#: ``{device_id: {metric: its newest sample}}``; a device with nothing stored is left out.
Latest = dict[str, dict[str, Sample]]


class TimeSeriesError(Exception):
    """The time-series store failed; carries the adapter's URL (without credentials)."""

    def __init__(self, message: str, *, store: str) -> None:
        super().__init__(f"{store}: {message}")
        self.store = store


class TimeSeriesStore(Protocol):
    """What the gateway writes to and the api reads from."""

    async def open(self) -> None:
        """Connect / create the schema; idempotent."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...

    async def ping(self) -> bool:
        """True when the store answers."""
        ...

    async def write(self, points: Sequence[Point]) -> None:
        """Write one batch; a point with the same device, metric and ts replaces the old one."""
        ...

    async def read(
        self,
        *,
        device_id: str,
        metric: str,
        start: datetime,
        end: datetime,
        aggregate: Aggregate | None = None,
        every_s: float | None = None,
    ) -> list[Sample]:
        """Points of one series in ``[start, end)``; bucketed by ``every_s`` when aggregated."""
        ...

    async def read_buckets(
        self, *, device_id: str, metric: str, start: datetime, end: datetime, every_s: float
    ) -> list[Bucket]:
        """Epoch-aligned ``every_s`` buckets of one series in ``[start, end)``, in one query;
        buckets without points are left out."""
        ...

    async def latest(self, device_ids: Collection[str]) -> Latest:
        """The newest stored sample of every metric of each of ``device_ids`` (any age)."""
        ...
