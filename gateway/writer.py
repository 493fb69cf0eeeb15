"""Batched telemetry writes: accepted readings → points → the time-series store.

Points wait in a bounded in-memory queue; a flush task writes a batch as soon as
``tsdb_batch_size`` points are pending, and whatever is pending every ``tsdb_flush_interval_s``.
A failed write keeps its batch and retries with jittered backoff (``reconnect_initial_s`` …
``reconnect_max_s``), so a store outage costs memory, not data, until the queue is full; from then
on new readings are dropped and counted. On shutdown the queue is drained, giving the store up to
``reconnect_max_s`` to answer before what is left is counted as dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from core.backoff import Backoff
from core.settings import Settings
from gateway.decode import Reading
from gateway.stats import GatewayStats
from storage.tsdb.port import Point, TimeSeriesStore

log = logging.getLogger(__name__)


class TelemetryWriter:
    """Owns the point queue and the flush loop (``run``) of one gateway."""

    def __init__(
        self,
        *,
        store: TimeSeriesStore,
        stats: GatewayStats,
        batch_size: int,
        flush_interval_s: float,
        queue_max: int,
        retry_initial_s: float,
        retry_max_s: float,
    ) -> None:
        self._store = store
        self._stats = stats
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_s
        self._queue_max = queue_max
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._queue: deque[Point] = deque()
        self._inflight = 0
        self._wake = asyncio.Event()
        self._closing = False
        self._drain_deadline: float | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, *, store: TimeSeriesStore, stats: GatewayStats
    ) -> TelemetryWriter:
        """A writer with the batching and retry settings of ``settings``."""
        return cls(
            store=store,
            stats=stats,
            batch_size=settings.tsdb_batch_size,
            flush_interval_s=settings.tsdb_flush_interval_s,
            queue_max=settings.tsdb_queue_max,
            retry_initial_s=settings.reconnect_initial_s,
            retry_max_s=settings.reconnect_max_s,
        )

    @property
    def pending(self) -> int:
        """Points queued or being written."""
        return len(self._queue) + self._inflight

    def add(self, reading: Reading) -> bool:
        """Queue the points of one reading; False (and counted) when the queue is full."""
        metrics = reading.metrics
        queue = self._queue
        if len(queue) + self._inflight + len(metrics) > self._queue_max:
            self._stats.points_dropped += len(metrics)
            return False
        device_id, ts = reading.device_id, reading.ts
        append = queue.append
        for name, value in metrics.items():
            append(Point(device_id, name, ts, float(value)))  # bools become 1.0 / 0.0
        self._stats.pending_points = len(queue) + self._inflight
        if len(queue) >= self._batch_size:
            self._wake.set()
        return True

    def close(self) -> None:
        """Stop accepting the flush cadence: ``run`` drains what is pending and returns."""
        if not self._closing:
            self._closing = True
            self._drain_deadline = asyncio.get_running_loop().time() + self._retry_max_s
        self._wake.set()

    async def run(self) -> None:
        """Flush on a full batch or every flush interval, until ``close()``; then drain."""
        while not self._closing:
            try:
                async with asyncio.timeout(self._flush_interval_s):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            await self._flush()
        await self._flush()

    async def _flush(self) -> None:
        queue, popleft = self._queue, self._queue.popleft
        while queue:
            batch = [popleft() for _ in range(min(self._batch_size, len(queue)))]
            self._inflight = len(batch)
            try:
                await self._write(batch)
            finally:
                self._inflight = 0
                self._stats.pending_points = len(queue)

    async def _write(self, batch: list[Point]) -> None:
        """Write one batch, retrying with backoff; only a shutdown past its deadline gives up."""
        backoff = Backoff(initial_s=self._retry_initial_s, max_s=self._retry_max_s)
        loop = asyncio.get_running_loop()
        while True:
            try:
                await self._store.write(batch)
            except Exception as exc:  # any adapter failure: keep the batch, never kill the loop
                self._stats.write_errors += 1
                if self._drain_deadline is not None and loop.time() >= self._drain_deadline:
                    lost = len(batch) + len(self._queue)
                    self._queue.clear()
                    self._stats.points_dropped += lost
                    log.error("store still failing at shutdown, %d points lost: %s", lost, exc)
                    return
                delay = backoff.next_delay()
                log.warning(
                    "time-series write of %d points failed (%s); retrying in %.2fs",
                    len(batch),
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
            else:
                self._stats.points_written += len(batch)
                return
