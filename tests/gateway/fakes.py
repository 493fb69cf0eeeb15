"""In-memory stand-ins for the gateway's two outputs (unit and gateway-level tests only)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from core.events import AnyEvent, BuildingEvent, DeviceEvent, OnCommitted
from storage.tsdb.port import Aggregate, Bucket, Latest, Point, Sample, TimeSeriesError


class MemoryStore:
    """A TimeSeriesStore keeping points in a list; can fail the next writes, or be ``down``."""

    def __init__(self) -> None:
        self.points: list[Point] = []
        self.batches: list[int] = []
        self.fail_next = 0
        self.attempts = 0
        self.down = False  # refuses writes and pings alike, as a stopped server does
        self.pings = 0

    async def open(self) -> None:
        """Nothing to open."""

    async def close(self) -> None:
        """Nothing to close."""

    async def ping(self) -> bool:
        self.pings += 1
        return not self.down

    async def write(self, points: Sequence[Point]) -> None:
        self.attempts += 1
        if self.down:
            raise TimeSeriesError("connection refused", store="memory://")
        if self.fail_next > 0:
            self.fail_next -= 1
            raise TimeSeriesError("injected failure", store="memory://")
        self.points.extend(points)
        self.batches.append(len(points))

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
        raise NotImplementedError("the gateway never reads")

    async def read_buckets(
        self, *, device_id: str, metric: str, start: datetime, end: datetime, every_s: float
    ) -> list[Bucket]:
        raise NotImplementedError("the gateway never reads")

    async def latest(self, device_ids: Collection[str]) -> Latest:
        raise NotImplementedError("the gateway never reads")


class ListSink:
    """An EventSink collecting device events and building incidents; can be told to fail."""

    def __init__(self) -> None:
        self.events: list[DeviceEvent] = []
        self.incidents: list[BuildingEvent] = []
        self.fail = False

    async def publish(self, event: AnyEvent, *, on_committed: OnCommitted | None = None) -> None:
        if self.fail:
            raise RuntimeError("injected sink failure")
        if isinstance(event, BuildingEvent):
            self.incidents.append(event)
        else:
            self.events.append(event)
        if on_committed is not None:
            on_committed()

    async def settled(self) -> None:
        """Everything is kept as soon as it is published."""
