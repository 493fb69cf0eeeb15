"""What one alerts transaction does with a batch of device events: episodes, orders, counts.

``AlertHandler`` is the handler of ``EventIntake`` (the gateway's events, in process) and of
``InboxConsumer`` (the events a gateway left in the inbox for ``fm alerts``): both commit a batch
in one transaction, and this is the batch's work inside it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import InvalidError, UnknownDeviceError
from alerts.orders.changes import ChangeKind, OrderChange
from alerts.orders.grouping import GroupingPolicy
from alerts.orders.incidents import handle_building_event
from alerts.orders.raising import handle_events
from core.events import AnyEvent, BuildingEvent, DeviceEvent
from core.settings import Settings
from governance.model import Site

log = logging.getLogger(__name__)


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


class BatchHandler(Protocol):
    """The work of one transaction over a batch of events, counted into ``stats``."""

    async def __call__(
        self,
        session: AsyncSession,
        events: Sequence[AnyEvent],
        now: datetime,
        stats: IntakeStats,
    ) -> None:
        """Apply ``events`` in ``session`` (not committed yet); count what they did."""
        ...


class AlertHandler:
    """Device events → episodes and work orders (set-based), building events → incidents."""

    def __init__(self, *, site: Site, settings: Settings) -> None:
        self._site = site
        self._reopen_window = timedelta(seconds=settings.reopen_window_s)
        self._grouping = GroupingPolicy.of(settings, site)

    async def __call__(
        self,
        session: AsyncSession,
        events: Sequence[AnyEvent],
        now: datetime,
        stats: IntakeStats,
    ) -> None:
        """Handle ``events`` in order and count their outcomes (after the caller commits, they
        are what the transaction did; a failed transaction is retried and counted again)."""
        outcomes = await self._apply(session, events, now)
        for event, changes in zip(events, outcomes, strict=True):
            _count(stats, event, changes)

    async def _apply(
        self, session: AsyncSession, events: Sequence[AnyEvent], now: datetime
    ) -> list[list[OrderChange] | None]:
        """The changes each event made, or None when the site refuses it (logged).

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


def _count(stats: IntakeStats, event: AnyEvent, changes: list[OrderChange] | None) -> None:
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


def note_commit(stats: IntakeStats, counts: IntakeStats, elapsed_s: float) -> None:
    """Add one committed transaction's ``counts`` (and its duration) to ``stats``."""
    stats.batches += 1
    stats.commit_seconds_sum += elapsed_s
    stats.commit_seconds_max = max(stats.commit_seconds_max, elapsed_s)
    stats.committed += counts.committed
    stats.rejected += counts.rejected
    stats.opened += counts.opened
    stats.deduplicated += counts.deduplicated
    stats.recovered += counts.recovered
    for kind, count in counts.by_kind.items():
        stats.by_kind[kind] = stats.by_kind.get(kind, 0) + count
