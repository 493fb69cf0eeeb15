"""Shared pieces of the benchmarks: percentiles, a store that discards, a timing sink, the site."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime

from core.events import AnyEvent, BuildingEvent, EventSink, OnCommitted
from core.settings import BUNDLED_SITE
from governance.loader import load_site
from governance.model import GroupingOverrides, Site
from sensors.profiles import Overrides
from storage.tsdb.port import Aggregate, Bucket, Latest, Point, Sample


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0 to 100) by nearest rank."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary_ms(values: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / p99 of seconds, in milliseconds."""
    return {f"p{q}": percentile(values, q) * 1000 for q in (50, 95, 99)}


class NullStore:
    """A TimeSeriesStore that counts and discards points (the gateway is what is measured)."""

    def __init__(self) -> None:
        self.points = 0

    async def open(self) -> None:
        """Nothing to open."""

    async def close(self) -> None:
        """Nothing to close."""

    async def ping(self) -> bool:
        return True

    async def write(self, points: Sequence[Point]) -> None:
        self.points += len(points)

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
        raise NotImplementedError("the benchmarks never read")

    async def read_buckets(
        self, *, device_id: str, metric: str, start: datetime, end: datetime, every_s: float
    ) -> list[Bucket]:
        raise NotImplementedError("the benchmarks never read")

    async def latest(self, device_ids: Collection[str]) -> Latest:
        raise NotImplementedError("the benchmarks never read")


class TimingSink:
    """Records ``perf_counter`` when each event has been handled: at once, or when ``inner``
    (e.g. the EventIntake) reports it committed."""

    def __init__(self, inner: EventSink | None = None) -> None:
        self.inner = inner
        self.times: list[tuple[float, AnyEvent]] = []
        self.arrived = asyncio.Event()

    async def publish(self, event: AnyEvent, *, on_committed: OnCommitted | None = None) -> None:
        def handled() -> None:
            self.times.append((time.perf_counter(), event))
            self.arrived.set()
            if on_committed is not None:
                on_committed()

        if self.inner is None:
            handled()
        else:
            await self.inner.publish(event, on_committed=handled)

    async def settled(self) -> None:
        """Settled when ``inner`` is."""
        if self.inner is not None:
            await self.inner.settled()

    def device_ids(self) -> list[str]:
        """Device of each recorded device event, in order."""
        return [e.device_id for _, e in self.times if not isinstance(e, BuildingEvent)]


def bench_site(*, light_heartbeat_s: float | None = None) -> Site:
    """The bundled example site (671 devices), grouping off; optionally faster light heartbeats."""
    site = load_site(BUNDLED_SITE)
    street = replace(site.street, grouping=GroupingOverrides(enabled=False))
    overrides = dict(site.type_overrides)
    if light_heartbeat_s is not None:
        light = overrides.get("corridor_light", Overrides())
        params = {**light.params, "heartbeat_s": light_heartbeat_s}
        overrides["corridor_light"] = Overrides(params=params, faults=light.faults)
    return replace(site, street=street, type_overrides=overrides)


def lights(site: Site) -> list[str]:
    """Every corridor light of a site, one per building first (so none share a building)."""
    return sorted(d.id for d in site.devices.values() if d.type == "corridor_light")
