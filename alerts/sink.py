"""A synchronous event sink: each event handled in its own transaction before ``publish``
returns.

Production processes hand events to ``alerts.intake.EventIntake`` (bounded queue, group commit,
retried until it commits). This sink is for embedding alerts where one event at a time is what
is wanted: tests that need the outcome right after ``publish``, and the one-transaction-per-event
baseline of the storm benchmark. A failure is counted and logged, not retried.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alerts.orders.changes import ChangeKind, OrderChange
from alerts.orders.grouping import GroupingPolicy
from alerts.orders.incidents import handle_building_event
from alerts.orders.raising import DEFAULT_REOPEN_WINDOW, handle_event
from core.clock import Clock, utcnow
from core.events import AnyEvent, BuildingEvent, DeviceEvent, OnCommitted
from governance.model import Site

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SinkStats:
    """Counters of one sink since it started (read by /metrics and tests)."""

    handled: int = 0  # events whose transaction committed
    opened: int = 0  # new work orders
    deduplicated: int = 0  # raises folded into an already open order or episode
    recovered: int = 0  # orders marked recovered by a clear
    rejected: int = 0  # events for devices the site does not have
    failed: int = 0  # events whose handling raised; logged with the event


class AlertsSink:
    """``core.events.EventSink`` that turns device events into episodes and work orders."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        site: Site,
        clock: Clock = utcnow,
        reopen_window: timedelta = DEFAULT_REOPEN_WINDOW,
        grouping: GroupingPolicy | None = None,
    ) -> None:
        self._reopen_window = reopen_window
        self._grouping = grouping  # None: every raise pages at once (no grouping hold)
        self._sessions = sessions
        self._site = site
        self._clock = clock
        self.stats = SinkStats()

    async def publish(self, event: AnyEvent, *, on_committed: OnCommitted | None = None) -> None:
        """Handle one event; a failure is logged and counted, never raised to the gateway.

        ``on_committed`` runs only when the event's transaction committed: a failed event is
        not acknowledged, so the broker can deliver it again.
        """
        if isinstance(event, BuildingEvent):
            if await self._publish_incident(event) and on_committed is not None:
                on_committed()
            return
        if event.device_id not in self._site.devices:
            self.stats.rejected += 1
            log.warning("alerts: rejected event for unknown device: %r", event)
            return
        try:
            async with self._sessions.begin() as session:
                changes = await handle_event(
                    session,
                    site=self._site,
                    event=event,
                    now=self._clock(),
                    reopen_window=self._reopen_window,
                    grouping=self._grouping,
                )
        except Exception:
            # One bad event must not stop the gateway loop; the next one gets a fresh session.
            self.stats.failed += 1
            log.exception("alerts: failed to handle %r", event)
            return
        self._count(event, changes)
        if on_committed is not None:
            on_committed()

    async def settled(self) -> None:
        """Every event is committed (or given up) before ``publish`` returns."""

    async def _publish_incident(self, event: BuildingEvent) -> bool:
        try:
            async with self._sessions.begin() as session:
                changes = await handle_building_event(
                    session, site=self._site, event=event, now=self._clock()
                )
        except Exception:
            self.stats.failed += 1
            log.exception("alerts: failed to handle %r", event)
            return False
        self.stats.handled += 1
        self.stats.opened += sum(change.kind is ChangeKind.OPENED for change in changes)
        return True

    def _count(self, event: DeviceEvent, changes: list[OrderChange]) -> None:
        self.stats.handled += 1
        kinds = {change.kind for change in changes}
        if ChangeKind.OPENED in kinds:
            self.stats.opened += 1
        elif event.active:
            self.stats.deduplicated += 1
        if ChangeKind.RECOVERED in kinds:
            self.stats.recovered += 1
