"""``EscalationSweeper``: runs the escalation sweep every ``FM_ESCALATION_SWEEP_INTERVAL_S``.

An async context manager owning one named task (``alerts-escalation``) in a TaskGroup. Each
round drains every due order in batches of ``FM_ESCALATION_BATCH_SIZE``, one transaction per
batch; a failing round is logged and counted and the loop carries on at the next interval.
Several replicas may run one each: the sweep itself is safe against double escalation.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.background import BackgroundLoops, LoopOwner, every
from alerts.escalation.sweep import sweep
from alerts.orders.changes import ChangeKind, OrderChange
from core.clock import Clock, utcnow
from core.settings import Settings
from governance.model import Site


@dataclass(slots=True)
class SweepStats:
    """Counters since the sweeper started (for /metrics and tests)."""

    rounds: int = 0  # completed sweep rounds
    escalated: int = 0
    reminded: int = 0  # order and department reminders
    failed: int = 0  # rounds that raised; logged with the traceback


class EscalationSweeper(LoopOwner):
    """Periodic escalation for one site; ``async with EscalationSweeper(...) as sweeper``."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        site: Site,
        settings: Settings,
        clock: Clock = utcnow,
    ) -> None:
        self.stats = SweepStats()
        self._sessions = sessions
        self._site = site
        self._interval_s = settings.escalation_sweep_interval_s
        self._batch_size = settings.escalation_batch_size
        self._clock = clock
        self._loops = BackgroundLoops("EscalationSweeper")

    async def sweep_once(self) -> list[OrderChange]:
        """One round now: every due order, batch by batch; the facts it recorded."""
        now = self._clock()
        changes: list[OrderChange] = []
        while True:
            async with self._sessions.begin() as session:
                batch, due = await sweep(session, site=self._site, now=now, limit=self._batch_size)
            changes.extend(batch)
            # A full batch may mean more are due; handled rows are never due again at ``now``.
            if due < self._batch_size:
                break
        self.stats.rounds += 1
        self.stats.escalated += sum(1 for c in changes if c.kind is ChangeKind.ESCALATED)
        self.stats.reminded += sum(1 for c in changes if c.kind is ChangeKind.REMINDED)
        return changes

    async def __aenter__(self) -> EscalationSweeper:
        sweeps = every(self._interval_s, self.sweep_once, stats=self.stats, what="escalation sweep")
        self._loops.start({"alerts-escalation": sweeps})
        return self
