"""``FollowerNotifier``: records due resolution notices every ``FM_OPEN311_NOTIFY_INTERVAL_S``.

An async context manager owning one named task (``residents-followers``). Each round drains the
reports due in batches, one transaction per batch; a failing round is logged and counted and
the loop tries again at the next interval. Replicas may each run one: rows are claimed with
``SKIP LOCKED`` on PostgreSQL and the notice keys are unique.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.background import BackgroundLoops, LoopOwner, every
from core.clock import Clock, utcnow
from governance.model import Site
from residents.followers import notify_resolved
from residents.settings import ResidentSettings

#: Reports handled per transaction.
BATCH_SIZE = 200


@dataclass(slots=True)
class NotifierStats:
    """Counters since the notifier started."""

    rounds: int = 0
    notified: int = 0  # reports told their order is resolved
    failed: int = 0


class FollowerNotifier(LoopOwner):
    """Periodic resolution notices; ``async with FollowerNotifier(...)``."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        site: Site,
        settings: ResidentSettings,
        clock: Clock = utcnow,
    ) -> None:
        self.stats = NotifierStats()
        self._sessions = sessions
        self._site = site
        self._settings = settings
        self._clock = clock
        self._loops = BackgroundLoops("FollowerNotifier")

    async def notify_once(self) -> int:
        """One round now; how many reports were told."""
        total = 0
        while True:
            async with self._sessions.begin() as session:
                told = await notify_resolved(
                    session,
                    site=self._site,
                    endpoint_id=self._settings.notice_endpoint_id,
                    now=self._clock(),
                    limit=BATCH_SIZE,
                )
            total += told
            if told < BATCH_SIZE:
                break
        self.stats.rounds += 1
        self.stats.notified += total
        return total

    async def __aenter__(self) -> FollowerNotifier:
        loop = every(
            self._settings.notify_interval_s,
            self.notify_once,
            stats=self.stats,
            what="resident notices",
        )
        self._loops.start({"residents-followers": loop})
        return self
