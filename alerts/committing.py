"""What the two committers of device events share: ``EventIntake`` (in the gateway's process)
and ``InboxConsumer`` (``fm alerts``) each commit a batch in one transaction through a
``BatchHandler``, count it only once it commits, and wait out a store that does not answer."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.handling import AlertHandler, BatchHandler, IntakeStats, note_commit
from core.backoff import Backoff
from core.clock import Clock
from core.events import AnyEvent
from core.settings import Settings
from governance.model import Site

log = logging.getLogger(__name__)


class BatchCommitter:
    """Base of the committers: the handler, the stats and the retry bookkeeping."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        site: Site,
        settings: Settings,
        clock: Clock,
        handler: BatchHandler | None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._handler = handler or AlertHandler(site=site, settings=settings)
        self._batch_max = settings.alerts_batch_max
        self._retry_initial_s = settings.alerts_retry_initial_s
        self._retry_max_s = settings.alerts_retry_max_s
        self.stats = IntakeStats()

    def _backoff(self) -> Backoff:
        return Backoff(initial_s=self._retry_initial_s, max_s=self._retry_max_s)

    def _note_retry(self, what: str, exc: BaseException) -> None:
        self.stats.retries += 1
        # The 1st, 2nd, 4th … retry are logged: visible, and an outage cannot drown the log.
        if self.stats.retries & (self.stats.retries - 1) == 0:
            log.warning(
                "alerts: %s failed (%s); %d events waiting, retrying",
                what,
                exc,
                self.stats.backlog,
            )

    @asynccontextmanager
    async def _transaction(self, events: Sequence[AnyEvent]) -> AsyncIterator[AsyncSession]:
        """One transaction: the caller's statements (the body), then the handler's work on
        ``events``; counted once it commits, so a retried batch is counted once."""
        started = time.perf_counter()
        counts = IntakeStats()
        async with self._sessions.begin() as session:
            yield session
            await self._handler(session, events, self._clock(), counts)
        note_commit(self.stats, counts, time.perf_counter() - started)
