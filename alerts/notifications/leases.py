"""Claiming and settling outbox rows: the SQL the relay runs, one statement per step.

A claim stamps due rows with a lease and a fresh token; settling a row (delivered, retry,
dead) matches that token, so a relay whose lease ran out and was taken over never marks
a row another relay now owns. On PostgreSQL the claim's row selection is ``FOR UPDATE
SKIP LOCKED`` (replicas share work without waiting on each other); SQLite has one writer at a
time, which makes the same statement correct there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, Update, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.relational.outbox_models import (
    Channel,
    NotificationEndpoint,
    OutboxMessage,
    OutboxState,
)

_PENDING = OutboxState.PENDING.value


@dataclass(frozen=True, slots=True)
class Claimed:
    """An outbox row this relay holds a lease on."""

    id: int
    key: str
    channel: str
    team_id: str | None
    endpoint_id: int | None
    payload: str
    attempts: int  # attempts before this one


@dataclass(frozen=True, slots=True)
class Target:
    """The endpoint details a delivery needs (loaded with the claim)."""

    kind: str
    url: str
    secret: str | None
    enabled: bool
    language: str | None = None  # None: the site file's default language


#: Channels of robots that are paced by one relay only (robot_lock.py).
ROBOT_CHANNELS = (Channel.WECOM, Channel.DINGTALK)


def _due(now: datetime, limit: int, *, robots: bool) -> Select[int]:
    query = select(OutboxMessage.id).where(
        OutboxMessage.state == _PENDING,
        OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )
    if not robots:
        query = query.where(OutboxMessage.channel.not_in(ROBOT_CHANNELS))
    return query.order_by(OutboxMessage.id).limit(limit)


async def claim(
    session: AsyncSession,
    *,
    now: datetime,
    lease_s: float,
    limit: int,
    token: str,
    robots: bool = True,
) -> list[Claimed]:
    """Lease up to ``limit`` due rows to ``token``; the rows it got, oldest first. Without
    ``robots`` the WeCom and DingTalk rows are left to the relay that paces them."""
    # SQLite: a read first, so an idle poll does not take the write lock from the alerts intake.
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite and (await session.scalar(_due(now, 1, robots=robots))) is None:
        return []
    chosen = _due(now, limit, robots=robots).with_for_update(skip_locked=True).scalar_subquery()
    statement = (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(chosen))
        .values(claimed_until=now + timedelta(seconds=lease_s), claim_token=token)
        .returning(
            OutboxMessage.id,
            OutboxMessage.idempotency_key,
            OutboxMessage.channel,
            OutboxMessage.team_id,
            OutboxMessage.endpoint_id,
            OutboxMessage.payload,
            OutboxMessage.attempts,
        )
        .execution_options(synchronize_session=False)
    )
    rows = (await session.execute(statement)).all()
    return sorted((Claimed(*row) for row in rows), key=lambda row: row.id)


async def targets_of(session: AsyncSession, claimed: Sequence[Claimed]) -> dict[int, Target]:
    """The endpoints the claimed rows go to, by id (deleted ones are absent)."""
    ids = {row.endpoint_id for row in claimed if row.endpoint_id is not None}
    if not ids:
        return {}
    query = select(NotificationEndpoint).where(NotificationEndpoint.id.in_(ids))
    return {
        e.id: Target(
            kind=e.kind, url=e.url, secret=e.secret, enabled=e.enabled, language=e.language
        )
        for e in await session.scalars(query)
    }


def _settle(row: Claimed, token: str) -> Update:
    return (
        update(OutboxMessage)
        .where(
            OutboxMessage.id == row.id,
            OutboxMessage.claim_token == token,
            OutboxMessage.state == _PENDING,
        )
        .execution_options(synchronize_session=False)
    )


async def mark_delivered(session: AsyncSession, row: Claimed, *, token: str, now: datetime) -> bool:
    """Mark delivered if still ours; False when the lease was lost to another relay."""
    statement = _settle(row, token).values(
        state=OutboxState.DELIVERED.value,
        delivered_at=now,
        attempts=row.attempts + 1,
        claimed_until=None,
        claim_token=None,
        last_error=None,
    )
    return (await session.scalar(statement.returning(OutboxMessage.id))) is not None


async def mark_failed(
    session: AsyncSession,
    row: Claimed,
    *,
    token: str,
    now: datetime,
    error: str,
    retry_at: datetime | None,
) -> bool:
    """Schedule a retry at ``retry_at``, or dead-letter the row when it is None."""
    values: dict[str, object] = {
        "attempts": row.attempts + 1,
        "claimed_until": None,
        "claim_token": None,
        "last_error": error,
    }
    if retry_at is None:
        values.update(state=OutboxState.DEAD.value, dead_at=now)
    else:
        values.update(next_attempt_at=retry_at)
    settled = _settle(row, token).values(**values).returning(OutboxMessage.id)
    return (await session.scalar(settled)) is not None


async def hold_back(
    session: AsyncSession,
    rows: Sequence[Claimed],
    *,
    token: str,
    until: datetime,
    note: str | None = None,
) -> int:
    """Release still-owned rows unsent until ``until``: no attempt counted; how many were ours.

    ``note`` (e.g. a robot's "too fast" answer) replaces ``last_error`` so operators see why.
    """
    values: dict[str, object] = {
        "next_attempt_at": until,
        "claimed_until": None,
        "claim_token": None,
    }
    if note is not None:
        values["last_error"] = note
    statement = (
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_([row.id for row in rows]),
            OutboxMessage.claim_token == token,
            OutboxMessage.state == _PENDING,
        )
        .values(**values)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    return len((await session.scalars(statement)).all())
