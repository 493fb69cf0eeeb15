"""Batched telemetry writes: accepted readings → points → the time-series store.

Points wait in a bounded in-memory queue; a flush task writes a batch as soon as
``tsdb_batch_size`` points are pending, and whatever is pending every ``tsdb_flush_interval_s``.
A failed write keeps its batch and retries with jittered backoff (``reconnect_initial_s`` …
``tsdb_retry_max_s``), so a store outage costs memory, not data, until the queue is full; from then
on new readings are dropped and counted. While it backs off from a store that does not answer, the
writer pings it every ``tsdb_probe_interval_s`` and retries the moment it answers, so writing
resumes within about one probe interval of the store's return, however long the outage was.
``close()`` cuts any backoff short; the queue is then drained, giving a failing store at most
``tsdb_shutdown_grace_s`` before what is left is counted as dropped.

A reading that came in a QoS 1 message carries its receipt (gateway/acks.py): the message is
acknowledged to the broker once its points are written, and while any message waits the next
batch goes out after ``tsdb_ack_flush_interval_s`` rather than the full flush interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque

from core.backoff import Backoff
from core.settings import Settings
from gateway.acks import Receipt
from gateway.decode import Reading
from gateway.spool import PointSpool
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
        probe_interval_s: float,
        shutdown_grace_s: float,
        ack_flush_interval_s: float,
        spool: PointSpool | None = None,
    ) -> None:
        self._store = store
        self._spool = spool
        self._stats = stats
        self._batch_size = batch_size
        self._flush_interval_s = flush_interval_s
        self._queue_max = queue_max
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._probe_interval_s = probe_interval_s
        self._shutdown_grace_s = shutdown_grace_s
        self._ack_flush_interval_s = ack_flush_interval_s
        self._queue: deque[Point] = deque()
        # Receipts of readings waiting for their points, by the running count of points queued
        # up to and including that reading's; ``_written`` counts points written, in order.
        self._receipts: deque[tuple[int, Receipt]] = deque()
        self._appended = 0
        self._written = 0
        # Points up to this position are in the spool file (durable while the store is down).
        self._spooled = 0
        self._batch: list[Point] = []  # the batch being written, ahead of ``_queue``
        self._progress = asyncio.Condition()
        self._inflight = 0
        self._wake = asyncio.Event()
        self._closed = asyncio.Event()
        self._drain_deadline = math.inf
        self._failing_since: float | None = None
        #: Event-loop time (monotonic) of the last write that succeeded after failures.
        self.last_recovery_at: float | None = None
        if spool is not None:
            # Left by a gateway that stopped during an outage: written before anything new.
            self._queue.extend(spool.load())
            self._appended = self._spooled = len(self._queue)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        store: TimeSeriesStore,
        stats: GatewayStats,
        spool: PointSpool | None = None,
    ) -> TelemetryWriter:
        """A writer with the batching and retry settings of ``settings``."""
        return cls(
            store=store,
            stats=stats,
            batch_size=settings.tsdb_batch_size,
            flush_interval_s=settings.tsdb_flush_interval_s,
            queue_max=settings.tsdb_queue_max,
            retry_initial_s=min(settings.reconnect_initial_s, settings.tsdb_retry_max_s),
            retry_max_s=settings.tsdb_retry_max_s,
            probe_interval_s=settings.tsdb_probe_interval_s,
            shutdown_grace_s=settings.tsdb_shutdown_grace_s,
            ack_flush_interval_s=settings.tsdb_ack_flush_interval_s,
            spool=spool,
        )

    @property
    def pending(self) -> int:
        """Points queued or being written."""
        return len(self._queue) + self._inflight

    @property
    def failing_since(self) -> float | None:
        """Event-loop time of the first failure of the current outage; None while writes work."""
        return self._failing_since

    def add(self, reading: Reading, receipt: Receipt | None = None) -> bool:
        """Queue the points of one reading; False (and counted) when the queue is full.

        ``receipt`` is held until those points are written. A reading dropped because the
        queue is full releases it at once: during a long store outage the gateway keeps
        handling events (alarms) rather than stopping the broker's flow for telemetry.
        """
        metrics = reading.metrics
        queue = self._queue
        if len(queue) + self._inflight + len(metrics) > self._queue_max:
            self._stats.points_dropped += len(metrics)
            return False
        device_id, ts = reading.device_id, reading.ts
        append = queue.append
        for name, value in metrics.items():
            append(Point(device_id, name, ts, float(value)))  # bools become 1.0 / 0.0
        self._appended += len(metrics)
        self._stats.pending_points = len(queue) + self._inflight
        if receipt is not None:
            receipt.hold()
            if not self._receipts:
                self._wake.set()  # someone waits for an acknowledgement: do not idle
            self._receipts.append((self._appended, receipt))
        if len(queue) >= self._batch_size:
            self._wake.set()
        return True

    def close(self) -> None:
        """Stop the flush cadence and cut any backoff short: ``run`` drains and returns."""
        if not self._closed.is_set():
            self._closed.set()
            self._drain_deadline = asyncio.get_running_loop().time() + self._shutdown_grace_s
        self._wake.set()

    async def run(self) -> None:
        """Flush on a full batch or every flush interval, until ``close()``; then drain."""
        while not self._closed.is_set():
            # Messages waiting for their acknowledgement shorten the wait for the next batch.
            wait_s = self._ack_flush_interval_s if self._receipts else self._flush_interval_s
            try:
                async with asyncio.timeout(wait_s):
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
            self._batch = batch
            try:
                await self._write(batch)
            finally:
                self._inflight = 0
                self._batch = []
                self._stats.pending_points = len(queue)

    async def _write(self, batch: list[Point]) -> None:
        """Write one batch, retrying until it succeeds; only a shutdown past its grace gives up."""
        backoff = Backoff(initial_s=self._retry_initial_s, max_s=self._retry_max_s)
        loop = asyncio.get_running_loop()
        stats = self._stats
        while True:
            started = loop.time()
            try:
                await self._store.write(batch)
            except Exception as exc:  # any adapter failure: keep the batch, never kill the loop
                stats.write_errors += 1
                if self._failing_since is None:
                    self._failing_since = started
                if loop.time() >= self._drain_deadline:
                    await self._give_up(exc)
                    return
                await self._spool_pending()
                delay = backoff.next_delay()
                # A store that refuses the batch but answers a ping is not down: probing would
                # only turn the backoff into a retry every probe interval.
                down = not await self._probe()
                log.warning(
                    "time-series write of %d points failed (%s); retrying in %.2fs%s",
                    len(batch),
                    exc,
                    delay,
                    " or as soon as the store answers" if down else "",
                )
                await self._pause(delay, probing=down)
            else:
                finished = loop.time()
                stats.writes += 1
                stats.write_seconds_last = finished - started
                stats.write_seconds_total += finished - started
                stats.points_written += len(batch)
                await self._settle(len(batch))
                if self._failing_since is not None:
                    stats.write_recoveries += 1
                    self.last_recovery_at = finished
                    log.info(
                        "time-series store writable again after %.1fs",
                        finished - self._failing_since,
                    )
                    self._failing_since = None
                return

    async def _give_up(self, exc: Exception) -> None:
        """Shutdown past its grace with the store still failing: what is spooled waits for the
        next start; only what could not be spooled is lost (counted and logged)."""
        await self._spool_pending()
        lost = self._appended - self._durable
        kept = self._spooled - self._written
        self._queue.clear()
        if lost:
            self._stats.points_dropped += lost
            log.error("store still failing at shutdown, %d points lost: %s", lost, exc)
        if kept > 0:
            log.warning("store still failing at shutdown; %d points wait in the spool", kept)

    @property
    def appended(self) -> int:
        """Points queued since the start (a position for ``written_through``)."""
        return self._appended

    async def written_through(self, position: int) -> None:
        """Return once every point queued up to ``position`` is durable: written, or spooled."""
        async with self._progress:
            await self._progress.wait_for(lambda: self._durable >= position)

    @property
    def _durable(self) -> int:
        return max(self._written, self._spooled)

    async def _settle(self, written: int) -> None:
        """Release the receipts of every reading whose points are now all written."""
        self._written += written
        if self._spool is not None and self._spooled and self._written >= self._spooled:
            # Everything spooled is in the store now: the file may go.
            await asyncio.to_thread(self._spool.clear)
            self._spooled = 0
        await self._release_durable()

    async def _release_durable(self) -> None:
        receipts, durable = self._receipts, self._durable
        while receipts and receipts[0][0] <= durable:
            receipts.popleft()[1].release()
        async with self._progress:
            self._progress.notify_all()

    async def _spool_pending(self) -> None:
        """Append the points not yet spooled (the store is failing) and release their messages."""
        if self._spool is None or self._durable >= self._appended:
            return
        # Positions: the batch being written starts right after ``_written``, the queue follows.
        pending = [*self._batch, *self._queue]
        start = self._durable - self._written
        through = self._written + len(pending)
        try:
            appended = await asyncio.to_thread(self._spool.append, pending[start:])
        except OSError as exc:
            self._stats.spool_errors += 1
            log.error(
                "cannot spool %d points (%s); their messages wait for the store",
                len(pending) - start,
                exc,
            )
            return
        self._stats.points_spooled += appended
        self._spooled = through
        await self._release_durable()

    async def _pause(self, delay: float, *, probing: bool) -> None:
        """Wait ``delay`` before a retry; a store answering a probe or a shutdown cuts it short."""
        loop = asyncio.get_running_loop()
        end = loop.time() + delay
        while (now := loop.time()) < end:
            # Shutting down: retry at the probe cadence, never later than the grace allows.
            end = min(end, self._drain_deadline)
            if self._closed.is_set():
                end = min(end, now + self._probe_interval_s)
            if end <= now:
                return
            await self._nap(min(self._probe_interval_s, end - now))
            await self._spool_pending()  # what came in meanwhile, so its messages are acked
            if probing and await self._probe():
                return

    async def _nap(self, seconds: float) -> None:
        """Sleep ``seconds``; before shutdown, ``close()`` wakes it at once."""
        if self._closed.is_set():
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._closed.wait()

    async def _probe(self) -> bool:
        """True when the store answers a ping within one probe interval."""
        try:
            async with asyncio.timeout(self._probe_interval_s):
                return await self._store.ping()
        except Exception:  # a probe that fails in any way means "not yet"
            return False
