"""The live stream of order changes: an in-process hub fed by tailing the outbox's SSE rows.

Reading committed rows (never anything before commit) lets every API replica stream every
change, whichever process made it. Ids come from one sequence but commit out of order on
PostgreSQL, so an id skipped by a poll is watched for ``stream_gap_grace_s`` before the tail
gives up on it (a rolled-back transaction never fills its gap). Each subscriber has a bounded
queue; one that falls behind is dropped, never buffered without limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.settings import Settings
from storage.relational.outbox_models import Channel, OutboxMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One server-sent event: ``id`` is the outbox id, ``event`` the change kind."""

    id: int
    event: str
    data: str

    def encode(self) -> bytes:
        """The SSE wire form (the JSON payload is one line)."""
        return f"id: {self.id}\nevent: {self.event}\ndata: {self.data}\n\n".encode()


class Subscription:
    """One client's bounded queue of events; ``dropped`` once it fell too far behind."""

    def __init__(self, size: int) -> None:
        self._queue: asyncio.Queue[StreamEvent | None] = asyncio.Queue(size + 1)
        self._size = size
        self.dropped = False

    def offer(self, event: StreamEvent) -> None:
        """Queue ``event``, or drop the subscription when its queue is full."""
        if self.dropped:
            return
        if self._queue.qsize() >= self._size:
            self.dropped = True
            self._queue.put_nowait(None)  # the spare slot: wakes the reader to end the stream
            return
        self._queue.put_nowait(event)

    async def next(self, timeout_s: float) -> StreamEvent | None:
        """The next event; raises ``TimeoutError`` when none came; None once dropped."""
        return await asyncio.wait_for(self._queue.get(), timeout_s)


async def stream_events(session: AsyncSession, *, after_id: int, limit: int) -> list[StreamEvent]:
    """Committed stream events with an id above ``after_id``, oldest first (for replays)."""
    query = (
        select(OutboxMessage.id, OutboxMessage.event, OutboxMessage.payload)
        .where(OutboxMessage.channel == Channel.SSE.value, OutboxMessage.id > after_id)
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return [StreamEvent(*row) for row in await session.execute(query)]


class StreamHub:
    """Fans committed stream events out to subscribers; tails the outbox while any listen."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self._sessions = sessions
        self._settings = settings
        self._subscribers: set[Subscription] = set()
        self._tail: asyncio.Task[None] | None = None
        # Set to stop the tail between polls: cancelling it inside a database call can leave
        # the pooled connection (aiosqlite's worker thread) hanging when the engine is disposed.
        self._tail_stop = asyncio.Event()
        self._cursor = 0
        self._gaps: dict[int, float] = {}  # skipped id → monotonic time to stop waiting

    @property
    def subscribers(self) -> int:
        """How many clients listen now."""
        return len(self._subscribers)

    async def subscribe(self) -> Subscription:
        """A new subscription; events committed from now on reach it."""
        subscription = Subscription(self._settings.stream_queue_max)
        if self._tail is None or self._tail.done():
            async with self._sessions() as session:
                self._cursor = await session.scalar(select(func.max(OutboxMessage.id))) or 0
            self._gaps.clear()
            self._tail_stop = asyncio.Event()
            self._tail = asyncio.create_task(self._run(self._tail_stop), name="stream-tail")
        self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Forget a subscription; the tail stops with the last one."""
        self._subscribers.discard(subscription)
        if not self._subscribers and self._tail is not None:
            self._tail_stop.set()
            self._tail = None

    async def close(self) -> None:
        """Drop every subscriber and wait for the tail to stop (before the engine goes away)."""
        self._subscribers.clear()
        tail, self._tail = self._tail, None
        self._tail_stop.set()
        if tail is not None:
            await asyncio.gather(tail, return_exceptions=True)

    def publish(self, events: Sequence[StreamEvent]) -> None:
        """Offer events to every subscriber, dropping those that fell behind."""
        for subscription in list(self._subscribers):
            for event in events:
                subscription.offer(event)
            if subscription.dropped:
                self._subscribers.discard(subscription)
                log.warning(
                    "stream: dropped a client that fell %d events behind",
                    self._settings.stream_queue_max,
                )

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                self.publish(await self._poll())
            except Exception:
                log.exception("stream: reading the outbox failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._settings.outbox_poll_interval_s)

    async def _poll(self) -> list[StreamEvent]:
        settings = self._settings
        now = time.monotonic()
        self._gaps = {gap: until for gap, until in self._gaps.items() if until > now}
        query = (
            select(
                OutboxMessage.id, OutboxMessage.channel, OutboxMessage.event, OutboxMessage.payload
            )
            .where(or_(OutboxMessage.id > self._cursor, OutboxMessage.id.in_(self._gaps)))
            .order_by(OutboxMessage.id)
            .limit(settings.stream_replay_max)
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        events: list[StreamEvent] = []
        for row_id, channel, event, payload in rows:
            if row_id > self._cursor:
                # Ids between the cursor and this row that no committed row holds yet (a jump
                # larger than a replay is a sequence skip, not transactions in flight).
                if row_id - self._cursor <= settings.stream_replay_max:
                    for missing in range(self._cursor + 1, row_id):
                        self._gaps.setdefault(missing, now + settings.stream_gap_grace_s)
                self._cursor = row_id
            else:
                self._gaps.pop(row_id, None)
            if channel == Channel.SSE.value:
                events.append(StreamEvent(row_id, event, payload))
        return events
