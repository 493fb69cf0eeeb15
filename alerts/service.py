"""Episodes and work orders: the alerts service functions over one ``AsyncSession``.

Each function works inside the caller's transaction and never commits, so an event's episode,
order and (later) outbox rows commit together.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.changes import ChangeKind, OrderChange
from alerts.dedup import insert_unless_open, open_key
from alerts.errors import (
    InvalidEventError,
    InvalidQueryError,
    OpenOrderConflictError,
    UnknownDeviceError,
    UnknownFaultCodeError,
)
from alerts.lifecycle import SYSTEM_ACTOR, Action, add_transition
from alerts.routing import OrderRouting, route_fault
from core.events import DeviceEvent
from core.settings import Settings
from governance.model import Site
from sensors.catalogue import OFFLINE
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


class DeviceHealth(StrEnum):
    """A device's status derived from its open episodes."""

    OK = "ok"
    FAULT = "fault"
    OFFLINE = "offline"


# Raising and clearing ---------------------------------------------------------------------------


async def raise_fault(
    session: AsyncSession,
    *,
    site: Site,
    event: DeviceEvent,
    now: datetime,
    reopen_window: timedelta = DEFAULT_REOPEN_WINDOW,
) -> OrderChange | None:
    """Open an episode and open, recur or reopen its order; None when the episode was open.

    A closed order of the same (device, fault) closed less than ``reopen_window`` ago is
    reopened (and counted) instead of opening a new one; a cancelled one never is.
    """
    started_at = _event_time(event)
    _check_known(site, event)
    routing = route_fault(site, device_id=event.device_id, severity=event.severity)
    key = open_key(event.device_id, event.code)
    # The episode insert comes first: it decides, atomically, which replica handles this raise,
    # and on SQLite it takes the write lock that serialises the rest of the transaction.
    episode = await insert_unless_open(
        session,
        Episode,
        {
            "device_id": event.device_id,
            "code": event.code,
            "severity": event.severity.value,
            "source": event.source.value,
            "detail": event.detail,
            "started_at": started_at,
            "open_key": key,
        },
    )
    if episode is None:
        return None
    order, kind = await _open_or_recur(
        session, key=key, routing=routing, event=event, now=now, reopen_window=reopen_window
    )
    episode.work_order_id = order.id
    await session.flush()
    return OrderChange.of(order, kind=kind, at=now)


async def clear_fault(
    session: AsyncSession, *, event: DeviceEvent, now: datetime
) -> OrderChange | None:
    """End the open episode and mark its order recovered; None when nothing was open."""
    ended_at = _event_time(event)
    key = open_key(event.device_id, event.code)
    # One atomic UPDATE: of two replicas clearing at once, only one matches the open key.
    ended = update(Episode).where(Episode.open_key == key).values(ended_at=ended_at, open_key=None)
    episode = await session.scalar(ended.returning(Episode))
    if episode is None:
        return None
    if episode.ended_at is not None and episode.ended_at < episode.started_at:
        # A device clock running behind must not produce a negative outage.
        episode.ended_at = episode.started_at
    if episode.work_order_id is None:
        await session.flush()
        return None
    recovered = (
        update(WorkOrder)
        .where(WorkOrder.id == episode.work_order_id, WorkOrder.open_key.is_not(None))
        .values(recovered_at=episode.ended_at, updated_at=now, version=WorkOrder.version + 1)
    )
    order = await session.scalar(recovered.returning(WorkOrder))
    await session.flush()
    if order is None:  # the order was closed or cancelled meanwhile: nothing left to mark
        return None
    return OrderChange.of(order, kind=ChangeKind.RECOVERED, at=now)


async def record_fault_raised(
    session: AsyncSession,
    *,
    site: Site,
    event: DeviceEvent,
    now: datetime,
    reopen_window: timedelta = DEFAULT_REOPEN_WINDOW,
) -> WorkOrder | None:
    """Record a raise: the order it opened, recurred or reopened; None if already open."""
    change = await raise_fault(
        session, site=site, event=event, now=now, reopen_window=reopen_window
    )
    return None if change is None else await session.get(WorkOrder, change.order_id)


async def record_fault_cleared(
    session: AsyncSession, *, event: DeviceEvent, now: datetime
) -> WorkOrder | None:
    """Record a clear: the order marked recovered, None if no order was affected."""
    change = await clear_fault(session, event=event, now=now)
    return None if change is None else await session.get(WorkOrder, change.order_id)


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


async def locked_open_order(session: AsyncSession, key: str) -> WorkOrder | None:
    """The order holding ``open_key`` (device or building), row-locked for this transaction."""
    query = (
        select(WorkOrder)
        .where(WorkOrder.open_key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    order: WorkOrder | None = await session.scalar(query)
    return order


async def _open_or_recur(
    session: AsyncSession,
    *,
    key: str,
    routing: OrderRouting,
    event: DeviceEvent,
    now: datetime,
    reopen_window: timedelta,
) -> tuple[WorkOrder, ChangeKind]:
    order = await locked_open_order(session, key)
    if order is None:
        reopened = await _reopen_recently_closed(
            session, key=key, event=event, now=now, window=reopen_window
        )
        if reopened is not None:
            return reopened, ChangeKind.REOPENED
        order = await insert_unless_open(session, WorkOrder, _new_order(key, routing, event, now))
        if order is not None:
            return order, ChangeKind.OPENED
        # Another replica opened it between our read and insert; its row is committed now.
        order = await locked_open_order(session, key)
        if order is None:
            raise OpenOrderConflictError(key)
    kind = ChangeKind.RECURRED
    if order.status == OrderStatus.RESOLVED:
        # Resolved but not closed: the fix did not hold, so the same order goes back to open.
        order.status = OrderStatus.OPEN.value
        order.reopen_count += 1
        for column, value in _REOPENED_VALUES.items():
            setattr(order, column, value)
        kind = ChangeKind.REOPENED
    order.occurrences += 1
    order.recovered_at = None
    order.updated_at = now
    await session.flush()
    if kind is ChangeKind.REOPENED:
        add_transition(
            session,
            order=order,
            action=Action.REOPEN,
            from_status=OrderStatus.RESOLVED.value,
            from_assignee=order.assignee,
            actor=SYSTEM_ACTOR,
            note=f"{event.code} recurred before the order was closed",
            at=now,
        )
    return order, kind


async def _reopen_recently_closed(
    session: AsyncSession, *, key: str, event: DeviceEvent, now: datetime, window: timedelta
) -> WorkOrder | None:
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
            WorkOrder.scope == OrderScope.DEVICE.value,
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
    reopened = (
        update(WorkOrder)
        .where(
            WorkOrder.id == latest.id,
            WorkOrder.version == latest.version,
            WorkOrder.open_key.is_(None),
        )
        .values(
            **_REOPENED_VALUES,
            status=OrderStatus.OPEN.value,
            open_key=key,
            closed_at=None,
            recovered_at=None,
            reopen_count=WorkOrder.reopen_count + 1,
            occurrences=WorkOrder.occurrences + 1,
            updated_at=now,
            version=WorkOrder.version + 1,
        )
        .returning(WorkOrder)
        .execution_options(populate_existing=True)
    )
    order: WorkOrder | None = await session.scalar(reopened)
    if order is None:
        return None
    add_transition(
        session,
        order=order,
        action=Action.REOPEN,
        from_status=OrderStatus.CLOSED.value,
        from_assignee=order.assignee,
        actor=SYSTEM_ACTOR,
        note=f"{event.code} recurred {now - closed_at} after the order was closed",
        at=now,
    )
    await session.flush()
    return order


def _new_order(
    key: str, routing: OrderRouting, event: DeviceEvent, now: datetime
) -> dict[str, object]:
    return {
        "device_id": routing.device_id,
        "fault_code": event.code,
        "severity": routing.severity.value,
        "priority": routing.priority,
        "status": OrderStatus.OPEN.value,
        "tier": routing.tier.value,
        "building_id": routing.building_id,
        "grid_id": routing.grid_id,
        "community_id": routing.community_id,
        "team_id": routing.team_id,
        "assignee": routing.assignee,
        "detail": event.detail,
        "open_key": key,
        "created_at": now,
        "updated_at": now,
        "occurrences": 1,
        "version": 1,
    }


# Reading ----------------------------------------------------------------------------------------


async def list_work_orders(
    session: AsyncSession,
    *,
    status: OrderStatus | str | None = None,
    device_id: str | None = None,
    team_id: str | None = None,
    grid_id: str | None = None,
    limit: int,
    offset: int = 0,
) -> list[WorkOrder]:
    """Work orders matching every given filter, newest first."""
    if limit < 1 or offset < 0:
        raise InvalidQueryError(f"limit must be ≥ 1 and offset ≥ 0, got {limit} and {offset}")
    query = select(WorkOrder)
    if status is not None:
        query = query.where(WorkOrder.status == OrderStatus(status).value)
    if device_id is not None:
        query = query.where(WorkOrder.device_id == device_id)
    if team_id is not None:
        query = query.where(WorkOrder.team_id == team_id)
    if grid_id is not None:
        query = query.where(WorkOrder.grid_id == grid_id)
    query = query.order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc())
    return list((await session.scalars(query.limit(limit).offset(offset))).all())


async def get_work_order(session: AsyncSession, *, order_id: int) -> WorkOrder | None:
    """One work order by id, or None."""
    return await session.get(WorkOrder, order_id)


async def open_faults(session: AsyncSession, *, device_id: str | None = None) -> list[Episode]:
    """Episodes still open (of one device, or of all), oldest first."""
    query = select(Episode).where(Episode.open_key.is_not(None))
    if device_id is not None:
        query = query.where(Episode.device_id == device_id)
    query = query.order_by(Episode.started_at, Episode.id)
    return list((await session.scalars(query)).all())


def health_of(codes: Iterable[str]) -> DeviceHealth:
    """``offline`` beats any fault; any other open episode is a fault; none is ok."""
    seen = set(codes)
    if OFFLINE in seen:
        return DeviceHealth.OFFLINE
    return DeviceHealth.FAULT if seen else DeviceHealth.OK


async def device_statuses(
    session: AsyncSession, *, device_ids: Iterable[str] = ()
) -> dict[str, str]:
    """Status (a :class:`DeviceHealth`) of devices with an open episode, ``ok`` for other ids."""
    codes: dict[str, set[str]] = {device_id: set() for device_id in device_ids}
    rows = await session.execute(
        select(Episode.device_id, Episode.code).where(Episode.open_key.is_not(None))
    )
    for device_id, code in rows:
        codes.setdefault(device_id, set()).add(code)
    return {device_id: health_of(device_codes) for device_id, device_codes in codes.items()}
