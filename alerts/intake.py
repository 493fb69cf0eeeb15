"""The hand-off from the gateway's message loop to the alerts transactions: at least once.

``EventIntake`` is the gateway's event sink in production. ``publish`` puts an event on a bounded
queue and returns at once; while the queue is full it waits, which stops the MQTT loop reading
and leaves the messages with the broker (backpressure, never a drop). One task, owned by the
intake as an async context manager, takes what is queued in batches and commits each batch in
one transaction (group commit), in arrival order, so every device's events stay in order.

A batch that fails because the store is not answering (locked, stopped, unreachable) is retried
whole with capped, jittered backoff until it commits: the backlog is visible in ``stats``. Any
other failure is isolated by retrying the batch's events one by one; an event that still fails
on its own is a bug, not an outage, and is counted and logged as failed. Handling is idempotent
(an episode is keyed on its open key), so a retried batch never duplicates an episode, an
occurrence or an order. ``on_committed`` callbacks run after the commit: the gateway acknowledges
a message to the broker, or saves a rule-state checkpoint, only once its events are committed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from types import TracebackType

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.committing import BatchCommitter
from alerts.errors import OpenOrderConflictError
from alerts.handling import BatchHandler
from core.clock import Clock, utcnow
from core.events import AnyEvent, OnCommitted
from core.settings import Settings
from governance.model import Site

log = logging.getLogger(__name__)

Callback = OnCommitted


@dataclass(slots=True)
class _Handover:
    event: AnyEvent
    on_committed: Callback | None
    ticket: int


def is_outage(exc: BaseException) -> bool:
    """True when a failure says the store is not answering now, so waiting will help."""
    if isinstance(exc, OpenOrderConflictError):
        return True  # a concurrent replica changed the row under us: the retry sees its commit
    return isinstance(exc, DBAPIError | OSError | TimeoutError | ConnectionError)


class EventIntake(BatchCommitter):
    """Bounded queue + group commit of device events; use as ``async with EventIntake(...)``."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        site: Site,
        settings: Settings,
        clock: Clock = utcnow,
        handler: BatchHandler | None = None,
    ) -> None:
        super().__init__(
            sessions=sessions, site=site, settings=settings, clock=clock, handler=handler
        )
        self._drain_timeout_s = settings.alerts_drain_timeout_s
        self._queue: asyncio.Queue[_Handover] = asyncio.Queue(maxsize=settings.alerts_queue_max)
        self._tickets = 0
        self._done_through = 0
        self._progress = asyncio.Condition()
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # Producer side -----------------------------------------------------------------------------

    async def publish(self, event: AnyEvent, *, on_committed: Callback | None = None) -> None:
        """Queue one event; waits while the queue is full (backpressure), never drops it."""
        self._tickets += 1
        await self._queue.put(_Handover(event, on_committed, self._tickets))
        self.stats.handed_over += 1
        self.stats.backlog += 1

    async def settled(self) -> None:
        """Return once every event handed over so far is committed (or settled as failed)."""
        await self.wait_committed(self._tickets)

    @property
    def last_ticket(self) -> int:
        """The number of the last event handed over (for ``wait_committed``)."""
        return self._tickets

    async def wait_committed(self, ticket: int) -> None:
        """Return once every event up to ``ticket`` is committed (or settled as failed)."""
        async with self._progress:
            await self._progress.wait_for(lambda: self._done_through >= ticket)

    # Lifecycle ---------------------------------------------------------------------------------

    async def __aenter__(self) -> EventIntake:
        if self._task is not None:
            raise RuntimeError("an EventIntake can be entered only once")
        self._task = asyncio.create_task(self._run(), name="alerts-intake")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._task is not None
        self._closing.set()
        try:
            # Drain what is queued; a store that stays down past the timeout loses only what
            # the broker still holds unacknowledged (the gateway acknowledges after commit).
            await asyncio.wait_for(self._finish(), self._drain_timeout_s)
        except TimeoutError:
            self.stats.abandoned = self.stats.backlog
            log.error(
                "alerts: shut down with %d events not committed (the store did not answer)",
                self.stats.backlog,
            )
        finally:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _finish(self) -> None:
        await self._queue.join()

    # Consumer side -----------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._batch_max and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._commit_batch(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()
            self.stats.backlog -= len(batch)
            async with self._progress:
                self._done_through = batch[-1].ticket
                self._progress.notify_all()
            for item in batch:
                if item.on_committed is not None:
                    _run_callback(item.on_committed)

    async def _commit_batch(self, batch: list[_Handover]) -> None:
        if await self._commit_retrying(batch) is None:
            return
        # Something in the batch itself is wrong: find it by committing the events one by one.
        for item in batch:
            error = await self._commit_retrying([item])
            if error is not None:
                self.stats.failed += 1
                log.error("alerts: failed to handle %r", item.event, exc_info=error)

    async def _commit_retrying(self, batch: list[_Handover]) -> Exception | None:
        """Commit ``batch``, waiting out a store that does not answer; None once it committed,
        else the failure that waiting will not fix."""
        backoff = self._backoff()
        while True:
            try:
                async with self._transaction([item.event for item in batch]):
                    pass  # the handler's work is the whole transaction
                return None
            except Exception as exc:
                if not is_outage(exc):
                    return exc
                self._note_retry(f"committing {len(batch)} events", exc)
                await asyncio.sleep(backoff.next_delay())


def _run_callback(callback: Callback) -> None:
    """A failing acknowledgement must not stop the commits of everyone else's events."""
    try:
        callback()
    except Exception:
        log.exception("alerts: an on_committed callback failed")
