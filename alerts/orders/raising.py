"""What one device event does to episodes and work orders, as one unit of work.

A raise opens the fault's episode (the insert that decides, atomically, which replica handles
it), then either folds into the open order (``recurred``; ``reopened`` when it was resolved),
reopens the order closed within the reopen window, or opens a new one
(``alerts.orders.opening``). A clear ends the episode and marks its order recovered. Every
function works inside the caller's transaction and never commits, so an event's episode,
order and outbox rows commit together.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import InvalidEventError, UnknownDeviceError, UnknownFaultCodeError
from alerts.notifications.outbox import record_changes
from alerts.orders.changes import ChangeKind, OrderChange
from alerts.orders.episodes import (
    already_recorded,
    end_episode,
    not_before_its_start,
    open_episode,
)
from alerts.orders.grouping import GROUPED_CODES, GroupingPolicy
from alerts.orders.holds import hold_page
from alerts.orders.incidents import leave_incident
from alerts.orders.keys import open_key
from alerts.orders.lifecycle import SYSTEM_ACTOR, Action, add_transition
from alerts.orders.opening import open_order, restarted_clock
from alerts.orders.routing import OrderRouting, route_fault
from alerts.orders.versioned import locked_open_order, update_locked, update_order
from core.events import DeviceEvent, EventSource
from core.settings import Settings
from governance.model import Site
from sensors.catalogue import OFFLINE, Severity
from sensors.profiles import PROFILES
from storage.relational.models import Episode, OrderScope, OrderStatus, WorkOrder

#: How long after closing a recurrence reopens the order (``FM_REOPEN_WINDOW_S``'s default).
DEFAULT_REOPEN_WINDOW = timedelta(seconds=Settings.model_fields["reopen_window_s"].default)

# A reopened order waits for someone again: the last round's progress is in its history.
_REOPENED_VALUES: dict[str, None] = {
    "acknowledged_at": None,
    "started_at": None,
    "resolved_at": None,
}


async def handle_event(
    session: AsyncSession,
    *,
    site: Site,
    event: DeviceEvent,
    now: datetime,
    reopen_window: timedelta = DEFAULT_REOPEN_WINDOW,
    grouping: GroupingPolicy | None = None,
) -> list[OrderChange]:
    """Apply one event inside the caller's transaction; the order changes it caused.

    The changes are queued in the outbox in this same transaction: that is what makes "the
    order change and its notification commit together" hold. With ``grouping``, the pages of
    the codes it groups wait for its decision (``alerts.orders.holds``).
    """
    if event.active:
        changes = await raise_fault(
            session,
            site=site,
            event=event,
            now=now,
            reopen_window=reopen_window,
            grouping=grouping,
        )
    else:
        changes = await clear_fault(session, event=event, now=now)
    await record_changes(session, site=site, changes=changes, now=now)
    return changes


async def raise_fault(
    session: AsyncSession,
    *,
    site: Site,
    event: DeviceEvent,
    now: datetime,
    reopen_window: timedelta = DEFAULT_REOPEN_WINDOW,
    grouping: GroupingPolicy | None = None,
) -> list[OrderChange]:
    """Open the fault's episode and its order's changes (first the order's own); none when the
    episode was already open or its page is held for grouping.

    A closed order of the same (device, fault) closed less than ``reopen_window`` ago is
    reopened (and counted) instead of opening a new one; a cancelled one never is.
    """
    started_at = _event_time(event)
    _check_known(site, event)
    routing = route_fault(site, device_id=event.device_id, severity=event.severity)
    # The episode insert comes first: it decides, atomically, which replica handles this raise,
    # and on SQLite it takes the write lock that serialises the rest of the transaction.
    episode = await open_episode(session, event=event, started_at=started_at)
    if episode is None:
        return []
    if await already_recorded(session, event=event, at=started_at):
        await session.delete(episode)  # a repeat of a fault already recorded and cleared
        await session.flush()
        return []
    if grouping is not None and grouping.holds(event.code):
        return await hold_page(session, site=site, grouping=grouping, episode=episode, now=now)
    changes = await _open_or_recur(
        session, site=site, routing=routing, event=event, now=now, reopen_window=reopen_window
    )
    episode.work_order_id = changes[0].order_id
    await session.flush()
    return changes


async def clear_fault(
    session: AsyncSession, *, event: DeviceEvent, now: datetime
) -> list[OrderChange]:
    """End the open episode and mark its order recovered; nothing when nothing was open."""
    key = open_key(event.device_id, event.code)
    ended_at = _event_time(event)
    episode = await end_episode(
        session,
        Episode.open_key == key,
        not_before_its_start(event, ended_at),
        ended_at=ended_at,
    )
    if episode is None or episode.work_order_id is None:
        return []  # no order (yet): a held page is decided, and dropped, when its hold ends
    if episode.code in GROUPED_CODES:
        left = await leave_incident(session, episode=episode, now=now)
        if left is not None:
            return left
    order = await update_order(
        session,
        WorkOrder.id == episode.work_order_id,
        WorkOrder.open_key.is_not(None),
        values={"recovered_at": episode.ended_at},
        now=now,
    )
    if order is None:  # the order was closed or cancelled meanwhile: nothing left to mark
        return []
    return [OrderChange.of(order, kind=ChangeKind.RECOVERED, at=now)]


async def page_held_episode(
    session: AsyncSession,
    *,
    site: Site,
    episode: Episode,
    now: datetime,
    reopen_window: timedelta = DEFAULT_REOPEN_WINDOW,
) -> list[OrderChange]:
    """The device's own order for a held episode, still open, that no incident took."""
    event = DeviceEvent(
        device_id=episode.device_id,
        code=episode.code,
        active=True,
        severity=Severity(episode.severity),
        ts=episode.started_at,
        source=EventSource(episode.source),
        detail=episode.detail,
    )
    routing = route_fault(site, device_id=event.device_id, severity=event.severity)
    changes = await _open_or_recur(
        session, site=site, routing=routing, event=event, now=now, reopen_window=reopen_window
    )
    episode.work_order_id = changes[0].order_id
    episode.page_due_at = None
    await session.flush()
    return changes


def _event_time(event: DeviceEvent) -> datetime:
    if event.ts.tzinfo is None or event.ts.utcoffset() is None:
        raise InvalidEventError(
            device_id=event.device_id, code=event.code, reason="timestamp has no time zone"
        )
    return event.ts.astimezone(UTC)


def _check_known(site: Site, event: DeviceEvent) -> None:
    device = site.devices.get(event.device_id)
    if device is None:
        raise UnknownDeviceError(event.device_id)
    profile = PROFILES.get(device.type)
    known = profile.fault_codes if profile is not None else frozenset({OFFLINE})
    if event.code not in known:
        raise UnknownFaultCodeError(
            device_id=event.device_id, device_type=device.type, code=event.code
        )


async def _open_or_recur(
    session: AsyncSession,
    *,
    site: Site,
    routing: OrderRouting,
    event: DeviceEvent,
    now: datetime,
    reopen_window: timedelta,
) -> list[OrderChange]:
    key = open_key(event.device_id, event.code)
    order = await locked_open_order(session, key)
    if order is None:
        reopened = await _reopen_recently_closed(
            session, key=key, event=event, now=now, window=reopen_window
        )
        if reopened is not None:
            return [reopened]
        order, opened = await open_order(
            session, site=site, routing=routing, event=event, key=key, now=now
        )
        if opened:
            return opened
    return [await _recur(session, order=order, event=event, now=now)]


async def _recur(
    session: AsyncSession, *, order: WorkOrder, event: DeviceEvent, now: datetime
) -> OrderChange:
    """The fault is back while its order is open (row-locked by the caller): count it."""
    values: dict[str, object] = {
        "occurrences": WorkOrder.occurrences + 1,
        "recovered_at": None,
    }
    reopening = order.status == OrderStatus.RESOLVED
    if reopening:
        # Resolved but not closed: the fix did not hold, so the same order goes back to open
        # and its clock restarts at its current tier.
        values.update(
            _REOPENED_VALUES,
            status=OrderStatus.OPEN,
            reopen_count=WorkOrder.reopen_count + 1,
            **await restarted_clock(session, order=order, now=now),
        )
    updated = await update_locked(session, order=order, values=values, now=now)
    if not reopening:
        return OrderChange.of(updated, kind=ChangeKind.RECURRED, at=now)
    note = f"{event.code} recurred before the order was closed"
    return await _reopened(session, updated, from_status=OrderStatus.RESOLVED, note=note, at=now)


async def _reopen_recently_closed(
    session: AsyncSession, *, key: str, event: DeviceEvent, now: datetime, window: timedelta
) -> OrderChange | None:
    """Reopen the fault's latest order if it was closed within ``window``; else None.

    Only the latest order counts: after a cancelled false alarm or a new order opened past
    the window, an older closed order stays closed. The guarded UPDATE (same version, still
    no open key) leaves the row alone if anything touched it since we read it; the caller
    then opens a new order. Concurrent raises of the same fault never get here together:
    the episode insert before this lets exactly one of them through.
    """
    if window <= timedelta(0):
        return None
    latest = await session.scalar(
        select(WorkOrder)
        .where(
            WorkOrder.device_id == event.device_id,
            WorkOrder.fault_code == event.code,
            WorkOrder.scope == OrderScope.DEVICE,
        )
        .order_by(WorkOrder.id.desc())
        .limit(1)
    )
    if (
        latest is None
        or latest.status != OrderStatus.CLOSED
        or latest.closed_at is None
        or now - latest.closed_at > window
    ):
        return None
    closed_at = latest.closed_at
    order = await update_order(
        session,
        WorkOrder.id == latest.id,
        WorkOrder.version == latest.version,
        WorkOrder.open_key.is_(None),
        values={
            **_REOPENED_VALUES,
            "status": OrderStatus.OPEN,
            "open_key": key,
            "closed_at": None,
            "recovered_at": None,
            "reopen_count": WorkOrder.reopen_count + 1,
            "occurrences": WorkOrder.occurrences + 1,
            **await restarted_clock(session, order=latest, now=now),
        },
        now=now,
    )
    if order is None:
        return None
    note = f"{event.code} recurred {now - closed_at} after the order was closed"
    return await _reopened(session, order, from_status=OrderStatus.CLOSED, note=note, at=now)


async def _reopened(
    session: AsyncSession, order: WorkOrder, *, from_status: OrderStatus, note: str, at: datetime
) -> OrderChange:
    """Audit the system's reopening of ``order`` (already written) and describe it."""
    add_transition(
        session,
        order=order,
        action=Action.REOPEN,
        from_status=from_status.value,
        from_assignee=order.assignee,
        actor=SYSTEM_ACTOR,
        note=note,
        at=at,
    )
    await session.flush()
    return OrderChange.of(order, kind=ChangeKind.REOPENED, at=at)
