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
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.errors import InvalidError, OpenOrderConflictError, UnknownDeviceError
from alerts.orders.changes import ChangeKind, OrderChange
from alerts.orders.grouping import GroupingPolicy
from alerts.orders.incidents import handle_building_event
from alerts.orders.raising import handle_events
from core.backoff import Backoff
from core.clock import Clock, utcnow
from core.events import AnyEvent, BuildingEvent, DeviceEvent, OnCommitted
from core.settings import Settings
from governance.model import Site

log = logging.getLogger(__name__)

Callback = OnCommitted


@dataclass(slots=True)
class IntakeStats:
    """Counters of one intake since it started (read by /metrics and tests)."""

    handed_over: int = 0  # events put on the queue
    committed: int = 0  # events whose transaction committed
    batches: int = 0  # transactions committed (also the count of the two timings below)
    retries: int = 0  # batch or event retries after a failed transaction
    failed: int = 0  # events that failed on their own (a bug): logged with the event
    rejected: int = 0  # events the site or catalogue refuses (unknown device, code, building)
    abandoned: int = 0  # events still queued when shutdown gave up on a store that was down
    opened: int = 0  # new work orders
    deduplicated: int = 0  # raises folded into an already open order or episode
    recovered: int = 0  # orders marked recovered by a clear
    backlog: int = 0  # events queued or in the transaction being retried
    commit_seconds_sum: float = 0.0  # time spent in committed transactions
    commit_seconds_max: float = 0.0
    by_kind: dict[str, int] = field(default_factory=dict)  # order changes committed, by kind


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


class EventIntake:
    """Bounded queue + group commit of device events; use as ``async with EventIntake(...)``."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        site: Site,
        settings: Settings,
        clock: Clock = utcnow,
    ) -> None:
        self._sessions = sessions
        self._site = site
        self._clock = clock
        self._reopen_window = timedelta(seconds=settings.reopen_window_s)
        self._grouping = GroupingPolicy.of(settings, site)
        self._batch_max = settings.alerts_batch_max
        self._retry_initial_s = settings.alerts_retry_initial_s
        self._retry_max_s = settings.alerts_retry_max_s
        self._drain_timeout_s = settings.alerts_drain_timeout_s
        self._queue: asyncio.Queue[_Handover] = asyncio.Queue(maxsize=settings.alerts_queue_max)
        self._tickets = 0
        self._done_through = 0
        self._progress = asyncio.Condition()
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.stats = IntakeStats()

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
        backoff = Backoff(initial_s=self._retry_initial_s, max_s=self._retry_max_s)
        while True:
            try:
                await self._transaction(batch)
                return None
            except Exception as exc:
                if not is_outage(exc):
                    return exc
                self._note_retry(len(batch), exc)
                await asyncio.sleep(backoff.next_delay())

    def _note_retry(self, size: int, exc: BaseException) -> None:
        self.stats.retries += 1
        # The 1st, 2nd, 4th … retry are logged: visible, and an outage cannot drown the log.
        if self.stats.retries & (self.stats.retries - 1) == 0:
            log.warning(
                "alerts: committing %d events failed (%s); %d events waiting, retrying",
                size,
                exc,
                self.stats.backlog,
            )

    async def _transaction(self, batch: Sequence[_Handover]) -> None:
        started = time.perf_counter()
        events = [item.event for item in batch]
        async with self._sessions.begin() as session:
            outcomes = await self._apply(session, events, self._clock())
        elapsed = time.perf_counter() - started
        stats = self.stats
        stats.batches += 1
        stats.commit_seconds_sum += elapsed
        stats.commit_seconds_max = max(stats.commit_seconds_max, elapsed)
        for event, changes in zip(events, outcomes, strict=True):
            self._count(event, changes)

    async def _apply(
        self, session: AsyncSession, events: Sequence[AnyEvent], now: datetime
    ) -> list[list[OrderChange] | None]:
        """The changes each event made, or None when the site refuses it (counted, logged).

        Consecutive device events go to ``handle_events`` together (set-based); a building
        event, rare and touching many devices, is handled on its own between them.
        """
        outcomes: list[list[OrderChange] | None] = []
        run: list[DeviceEvent] = []
        for event in [*events, None]:
            if isinstance(event, DeviceEvent):
                run.append(event)
                continue
            if run:
                outcomes.extend(await self._apply_devices(session, run, now))
                run = []
            if isinstance(event, BuildingEvent):
                outcomes.append(await self._apply_building(session, event, now))
        return outcomes

    async def _apply_devices(
        self, session: AsyncSession, events: list[DeviceEvent], now: datetime
    ) -> list[list[OrderChange] | None]:
        known = [event for event in events if event.device_id in self._site.devices]
        handled = iter(
            await handle_events(
                session,
                site=self._site,
                events=known,
                now=now,
                reopen_window=self._reopen_window,
                grouping=self._grouping,
            )
        )
        outcomes: list[list[OrderChange] | None] = []
        for event in events:
            outcome = (
                next(handled)
                if event.device_id in self._site.devices
                else UnknownDeviceError(event.device_id)
            )
            if isinstance(outcome, InvalidError):
                # Refused before any write of this event, so the batch's transaction stays usable.
                log.warning("alerts: rejected %r: %s", event, outcome)
                outcomes.append(None)
            else:
                outcomes.append(outcome)
        return outcomes

    async def _apply_building(
        self, session: AsyncSession, event: BuildingEvent, now: datetime
    ) -> list[OrderChange] | None:
        try:
            return await handle_building_event(session, site=self._site, event=event, now=now)
        except InvalidError as exc:
            log.warning("alerts: rejected %r: %s", event, exc)
            return None

    def _count(self, event: AnyEvent, changes: list[OrderChange] | None) -> None:
        stats = self.stats
        if changes is None:
            stats.rejected += 1
            return
        stats.committed += 1
        kinds = {change.kind for change in changes}
        for change in changes:
            stats.by_kind[change.kind.value] = stats.by_kind.get(change.kind.value, 0) + 1
        if ChangeKind.OPENED in kinds:
            stats.opened += 1
        elif event.active and isinstance(event, DeviceEvent):
            stats.deduplicated += 1
        if ChangeKind.RECOVERED in kinds:
            stats.recovered += 1


def _run_callback(callback: Callback) -> None:
    """A failing acknowledgement must not stop the commits of everyone else's events."""
    try:
        callback()
    except Exception:
        log.exception("alerts: an on_committed callback failed")
