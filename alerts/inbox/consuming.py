"""The ``fm alerts`` side of the inbox: handle the events gateways stored, in their order.

One loop takes the oldest rows in batches and, in one transaction per batch, handles them
(``AlertHandler``, as the in-process intake does) and deletes them: an event leaves the inbox
exactly when what it caused commits, so a crash at any moment leaves it to the next round, and
handling is idempotent. A store that does not answer is retried with capped, jittered backoff;
any other failure of a round is logged with its traceback and retried the same way, so the loop
never ends while alarms wait. Within a round, a batch that fails other than by an outage is taken
apart event by event; an event that still fails on its own is set aside (``failed_at``,
``error``), counted and logged, never deleted, and the rest go on.

On PostgreSQL every round holds one transaction-level advisory lock, so replicas of ``fm alerts``
take turns and each device's events stay in order; on SQLite the single writer does the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.background import BackgroundLoops, LoopOwner
from alerts.committing import BatchCommitter
from alerts.handling import BatchHandler
from alerts.intake import is_outage
from alerts.metrics.stores import inbox_states
from core.clock import Clock, utcnow
from core.event_codec import EventCodecError, decode_event
from core.settings import Settings
from governance.model import Site
from storage.relational.inbox_models import InboxEvent

log = logging.getLogger(__name__)

#: Key of the PostgreSQL advisory lock the consumers of the inbox take turns on (b"fmin").
INBOX_LOCK_KEY = 0x666D696E

Row = tuple[int, str]


class _TakenMeanwhile(Exception):
    """Rolls back a round whose rows another consumer removed first."""


class InboxConsumer(LoopOwner, BatchCommitter):
    """Handles the inbox until left; use as ``async with InboxConsumer(...)``."""

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
        self._poll_s = settings.alerts_inbox_poll_s
        # Leaving cancels the loop; a transaction cut short rolls back, so its rows stay in
        # the inbox for the next start.
        self._loops = BackgroundLoops("InboxConsumer")

    async def __aenter__(self) -> InboxConsumer:
        self._loops.start({"alerts-inbox": self._run})
        return self

    async def pending(self) -> int:
        """Events in the inbox not yet handled (set-aside events not counted)."""
        async with self._sessions() as session:
            return (await inbox_states(session)).get("pending", 0)

    async def _run(self) -> None:
        backoff = self._backoff()
        while True:
            try:
                taken = await self._round()
            except Exception as exc:
                # Never ends the loop: a stopped consumer would leave every alarm in the inbox.
                if not is_outage(exc):
                    log.exception("alerts: a round over the inbox failed; retrying")
                self._note_retry("reading the inbox", exc)
                await asyncio.sleep(backoff.next_delay())
                continue
            backoff = self._backoff()
            if taken < self._batch_max:
                await asyncio.sleep(self._poll_s)

    async def _round(self) -> int:
        """Handle one batch; how many rows it took (0 when the inbox was empty)."""
        rows = await self._oldest()
        if not rows:
            return 0
        try:
            await self._commit(rows)
        except Exception as exc:
            if is_outage(exc):
                raise
            await self._one_by_one(rows)
        return len(rows)

    async def _oldest(self) -> list[Row]:
        async with self._sessions() as session:
            query = (
                select(InboxEvent.id, InboxEvent.payload)
                .where(InboxEvent.failed_at.is_(None))
                .order_by(InboxEvent.id)
                .limit(self._batch_max)
            )
            return [(row_id, payload) for row_id, payload in (await session.execute(query)).all()]

    async def _commit(self, rows: Sequence[Row]) -> None:
        events = [decode_event(payload) for _, payload in rows]
        try:
            async with self._transaction(events) as session:
                await _take_turn(session)
                removed = await session.execute(
                    delete(InboxEvent).where(InboxEvent.id.in_([row_id for row_id, _ in rows]))
                )
                if removed.rowcount != len(rows):  # type: ignore[attr-defined]
                    raise _TakenMeanwhile
        except _TakenMeanwhile:
            return  # another replica handled these rows: this round rolled back, changing nothing

    async def _one_by_one(self, rows: Sequence[Row]) -> None:
        for row in rows:
            try:
                await self._commit([row])
            except Exception as exc:
                if is_outage(exc):
                    raise
                await self._set_aside(row, exc)

    async def _set_aside(self, row: Row, exc: Exception) -> None:
        self.stats.failed += 1
        kind = "unreadable" if isinstance(exc, EventCodecError) else "failed"
        log.error("alerts: inbox event %d %s, set aside: %s", row[0], kind, row[1], exc_info=exc)
        async with self._sessions.begin() as session:
            await session.execute(
                update(InboxEvent)
                .where(InboxEvent.id == row[0])
                .values(failed_at=self._clock(), error=f"{type(exc).__name__}: {exc}")
            )


async def _take_turn(session: AsyncSession) -> None:
    """On PostgreSQL, wait for the other consumers' rounds (SQLite has one writer anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INBOX_LOCK_KEY})
