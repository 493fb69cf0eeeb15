"""What device events do to episodes and work orders, as one unit of work.

A raise opens the fault's episode (the insert that decides, atomically, which replica handles
it), then either folds into the open order (``recurred``; ``reopened`` when it was resolved),
reopens the order closed within the reopen window, or opens a new one
(``alerts.orders.opening``); with grouping, an ``offline`` / ``no_power`` raise instead joins
the incident covering it or holds its page (``alerts.orders.holds``). A raise an ended episode
already holds is a replay and opens nothing. A clear ends the episode and marks its order
recovered (``alerts.orders.clearing``). Every
function works inside the caller's transaction and never commits, so an event's episode,
order and outbox rows commit together.

A batch of events (the intake's group commit) is handled set-based: each run of events of
distinct devices is decided together, one statement per step for the whole run
(``alerts.orders.batch``). One event is a batch of one: there is no other code path.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from alerts.errors import InvalidError
from alerts.notifications.outbox import record_changes
from alerts.orders.batch import device_segments, latest_device_orders, locked_open_orders
from alerts.orders.changes import ChangeKind, OrderChange
from alerts.orders.checks import check_event, event_time

# clear_fault is re-exported: callers handle both kinds of event through this module.
from alerts.orders.clearing import clear_fault as clear_fault
from alerts.orders.clearing import clear_faults
from alerts.orders.episodes import drop_episodes, link_episodes, open_episodes, replayed_raises
from alerts.orders.grouping import GroupingPolicy
from alerts.orders.holds import hold_pages
from alerts.orders.keys import open_key
from alerts.orders.lifecycle import SYSTEM_ACTOR, Action, add_transition
from alerts.orders.opening import OrderRequest, open_orders, restarted_clock
from alerts.orders.routing import route_fault
from alerts.orders.versioned import update_locked, update_order
from core.events import DeviceEvent, EventSource
from core.settings import Settings
from governance.model import Site
from sensors.catalogue import Severity
from storage.relational.models import Episode, OrderStatus, WorkOrder

#: How long after closing a recurrence reopens the order (``FM_REOPEN_WINDOW_S``'s default).
DEFAULT_REOPEN_WINDOW = timedelta(seconds=Settings.model_fields["reopen_window_s"].default)

# A reopened order waits for someone again: the last round's progress is in its history.
_REOPENED_VALUES: dict[str, None] = {
    "acknowledged_at": None,
    "started_at": None,
    "resolved_at": None,
}


#: What handling one event came to: the order changes it caused, or why it was refused.
Outcome = list[OrderChange] | InvalidError


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
    order change and its notification commit together" hold. A batch of one of
    :func:`handle_events`; an event the site refuses raises its :class:`InvalidError`.
    """
    [outcome] = await handle_events(
        session,
        site=site,
        events=[event],
        now=now,
        reopen_window=reopen_window,
        grouping=grouping,
    )
    if isinstance(outcome, InvalidError):
        raise outcome
    return outcome


async def handle_events(
    session: AsyncSession,
    *,
    site: Site,
    events: Sequence[DeviceEvent],
    now: datetime,
    reopen_window: timedelta = DEFAULT_REOPEN_WINDOW,
    grouping: GroupingPolicy | None = None,
) -> list[Outcome]:
    """Apply events in arrival order inside the caller's transaction; each one's outcome.

    Runs of events of distinct devices are decided together (``alerts.orders.batch``), so a
    storm costs a few statements per run, not a dozen per event. An event the site refuses
    (unknown device or fault code, a timestamp without zone) is refused before anything is
    written and does not stop the others.
    """
    outcomes: list[Outcome] = []
    accepted: list[int] = []
    for index, event in enumerate(events):
        try:
            check_event(site, event)
        except InvalidError as exc:
            outcomes.append(exc)
        else:
            outcomes.append([])
            accepted.append(index)
    changes: dict[int, list[OrderChange]] = {}
    for segment in device_segments([events[index] for index in accepted]):
        indexes = [accepted[position] for position in segment]
        raises = [index for index in indexes if events[index].active]
        raised = await raise_faults(
            session,
            site=site,
            events=[events[index] for index in raises],
            now=now,
            reopen_window=reopen_window,
            grouping=grouping,
        )
        changes.update(zip(raises, raised, strict=True))
        clears = [index for index in indexes if not events[index].active]
        cleared = await clear_faults(session, events=[events[index] for index in clears], now=now)
        changes.update(zip(clears, cleared, strict=True))
    # Nothing in this transaction reads the outbox back: one INSERT for the whole batch, in
    # event order.
    in_order = [change for index in sorted(changes) for change in changes[index]]
    await record_changes(session, site=site, changes=in_order, now=now)
    for index, made in changes.items():
        outcomes[index] = made
    return outcomes


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
    episode was already open or its page is held. A batch of one of :func:`raise_faults`.
    """
    check_event(site, event)
    [changes] = await raise_faults(
        session,
        site=site,
        events=[event],
        now=now,
        reopen_window=reopen_window,
        grouping=grouping,
    )
    return changes


async def raise_faults(
    session: AsyncSession,
    *,
    site: Site,
    events: Sequence[DeviceEvent],
    now: datetime,
    reopen_window: timedelta = DEFAULT_REOPEN_WINDOW,
    grouping: GroupingPolicy | None = None,
) -> list[list[OrderChange]]:
    """:func:`raise_fault` for checked raises of distinct devices, each step one statement.

    A closed order of the same (device, fault) closed less than ``reopen_window`` ago is
    reopened (and counted) instead of opening a new one; a cancelled one never is. With
    ``grouping``, the pages of the codes it groups wait for its decision (``holds``).
    """
    if not events:
        return []
    if len({event.device_id for event in events}) < len(events):
        raise ValueError("raise_faults takes one event per device (see device_segments)")
    starts = [(event, event_time(event)) for event in events]
    keys = [open_key(event.device_id, event.code) for event in events]
    # The episode insert comes first: it decides, atomically, which replica handles each raise,
    # and on SQLite it takes the write lock that serialises the rest of the transaction.
    episodes = await open_episodes(session, starts)
    fresh = [index for index, key in enumerate(keys) if key in episodes]
    replayed = {fresh[i] for i in await replayed_raises(session, [starts[i] for i in fresh])}
    # A repeat of a fault already recorded opens nothing.
    await drop_episodes(session, [episodes[keys[index]] for index in replayed])
    live = [index for index in fresh if index not in replayed]
    held = [i for i in live if grouping is not None and grouping.holds(events[i].code)]
    changes_of: dict[int, list[OrderChange]] = {}
    if grouping is not None and held:
        holding = [(episodes[keys[index]], events[index]) for index in held]
        decided_holds = await hold_pages(
            session, site=site, grouping=grouping, held=holding, now=now
        )
        changes_of.update(zip(held, decided_holds, strict=True))
    paged = [index for index in live if index not in changes_of]
    decided = await _open_or_recur(
        session,
        site=site,
        events=[events[index] for index in paged],
        now=now,
        reopen_window=reopen_window,
    )
    await link_episodes(
        session,
        {
            episodes[keys[index]]: changes[0].order_id
            for index, changes in zip(paged, decided, strict=True)
        },
    )
    changes_of.update(zip(paged, decided, strict=True))
    return [changes_of.get(index, []) for index in range(len(events))]


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
    [changes] = await _open_or_recur(
        session, site=site, events=[event], now=now, reopen_window=reopen_window
    )
    episode.work_order_id = changes[0].order_id
    episode.page_due_at = None
    await session.flush()
    return changes


async def _open_or_recur(
    session: AsyncSession,
    *,
    site: Site,
    events: Sequence[DeviceEvent],
    now: datetime,
    reopen_window: timedelta,
) -> list[list[OrderChange]]:
    """Per raise (distinct devices): recur its open order, reopen its recently closed one, or
    open a new one."""
    keys = [open_key(event.device_id, event.code) for event in events]
    held = await locked_open_orders(session, keys)
    decided: dict[int, list[OrderChange]] = {}
    for index, event in enumerate(events):
        if keys[index] in held:
            decided[index] = [await _recur(session, order=held[keys[index]], event=event, now=now)]
    unheld = [index for index in range(len(events)) if index not in decided]
    if reopen_window > timedelta(0) and unheld:
        faults = {(events[index].device_id, events[index].code) for index in unheld}
        latest = await latest_device_orders(session, faults)
        for index in unheld:
            event = events[index]
            reopened = await _reopen_recently_closed(
                session,
                latest=latest.get((event.device_id, event.code)),
                key=keys[index],
                event=event,
                now=now,
                window=reopen_window,
            )
            if reopened is not None:
                decided[index] = [reopened]
    to_open = [index for index in unheld if index not in decided]
    requests = [
        OrderRequest(
            route_fault(site, device_id=events[i].device_id, severity=events[i].severity),
            events[i],
            keys[i],
        )
        for i in to_open
    ]
    opened = await open_orders(session, site=site, requests=requests, now=now)
    for index, (order, changes) in zip(to_open, opened, strict=True):
        # No changes: another replica opened it meanwhile, so this raise is a recurrence.
        decided[index] = changes or [
            await _recur(session, order=order, event=events[index], now=now)
        ]
    return [decided[index] for index in range(len(events))]


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
    session: AsyncSession,
    *,
    latest: WorkOrder | None,
    key: str,
    event: DeviceEvent,
    now: datetime,
    window: timedelta,
) -> OrderChange | None:
    """Reopen ``latest``, the fault's latest order, if it was closed within ``window``; else
    None.

    Only the latest order counts: after a cancelled false alarm or a new order opened past
    the window, an older closed order stays closed. The guarded UPDATE (same version, still
    no open key) leaves the row alone if anything touched it since we read it; the caller
    then opens a new order. Concurrent raises of the same fault never get here together:
    the episode insert before this lets exactly one of them through.
    """
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
