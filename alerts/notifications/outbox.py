"""The transactional outbox: the notifications of order changes, queued in their transaction.

Every function that changes an order calls :func:`record_changes` with the same session before
the transaction commits: one row per (change, destination), inserted with ``ON CONFLICT
(idempotency_key) DO NOTHING``, so the order change and its notifications commit together,
recording the same change twice adds nothing, and a rolled-back change leaves no notification
behind. The relay (``alerts.notifications.relay``) delivers them after the commit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, TypedDict, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.notifications.destinations import Destination, destinations
from alerts.orders.bulk import insert_many_skipping_conflicts
from alerts.orders.changes import CONTEXT_FIELDS, OrderChange
from alerts.orders.fields import ORDER_FIELDS
from governance.model import Site
from storage.relational.outbox_models import (
    Channel,
    NotificationEndpoint,
    OutboxMessage,
    OutboxState,
)

#: Version of the notification JSON; bump when a field changes meaning (new fields are free).
PAYLOAD_SCHEMA = 1


class OutboxRow(TypedDict):
    """The values of one outbox row's INSERT."""

    idempotency_key: str
    channel: str
    team_id: str | None
    endpoint_id: int | None
    order_id: int
    event: str
    payload: str
    state: str
    created_at: datetime
    next_attempt_at: datetime
    attempts: int
    delivered_at: datetime | None


async def record_changes(
    session: AsyncSession, *, site: Site, changes: Sequence[OrderChange], now: datetime
) -> int:
    """Queue the notifications ``changes`` cause, inside the caller's transaction.

    Returns how many outbox rows were new (0 when the same changes were recorded before).
    """
    if not changes:
        return 0  # the hot path of a deduplicated event: no query at all
    endpoints = await enabled_endpoints(session)
    rows: list[OutboxRow] = []
    for change in changes:
        targets = destinations(change, site=site, endpoints=endpoints)
        rows.extend(outbox_rows(change, targets, now=now))
    return await insert_rows(session, rows)


def idempotency_key(change: OrderChange, destination: Destination) -> str:
    """``<order_id>:<version>:<kind>[@<department>]:<destination>``: once per change and endpoint.

    The department keeps apart two departments dispatched for one order in one transaction.
    """
    kind = change.kind.value
    if change.department_id is not None:
        kind = f"{kind}@{change.department_id}"
    return f"{change.order_id}:{change.version}:{kind}:{destination.name}"


def notification(change: OrderChange, *, key: str) -> dict[str, Any]:
    """The JSON work-order notification every channel carries (``id`` is the idempotency key)."""
    return {
        "id": key,
        "schema": PAYLOAD_SCHEMA,
        "change": change.kind.value,
        "at": change.at.isoformat(),
        **{name: getattr(change, name) for name in ORDER_FIELDS},
        "department_id": change.department_id,
        "from_tier": change.from_tier,
        "reason": change.reason,
        **{name: _json_value(getattr(change, name)) for name in CONTEXT_FIELDS},
    }


def _json_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    return value


def outbox_rows(
    change: OrderChange, targets: Sequence[Destination], *, now: datetime
) -> list[OutboxRow]:
    """Insertable outbox values for ``change`` going to ``targets``."""
    rows: list[OutboxRow] = []
    for destination in targets:
        key = idempotency_key(change, destination)
        # The stream needs no delivery attempt: committing the row is what publishes it.
        streamed = destination.channel is Channel.SSE
        rows.append(
            OutboxRow(
                idempotency_key=key,
                channel=destination.channel.value,
                team_id=destination.team_id,
                endpoint_id=destination.endpoint_id,
                order_id=change.order_id,
                event=change.kind.value,
                payload=json.dumps(notification(change, key=key), separators=(",", ":")),
                state=(OutboxState.DELIVERED if streamed else OutboxState.PENDING).value,
                created_at=now,
                next_attempt_at=now,
                attempts=0,
                delivered_at=now if streamed else None,
            )
        )
    return rows


async def enabled_endpoints(session: AsyncSession) -> list[NotificationEndpoint]:
    """The endpoints that currently receive notifications."""
    query = select(NotificationEndpoint).where(NotificationEndpoint.enabled.is_(True))
    return list((await session.scalars(query.order_by(NotificationEndpoint.id))).all())


async def insert_rows(session: AsyncSession, rows: Sequence[OutboxRow]) -> int:
    """Insert outbox rows, skipping keys already present; how many were new."""
    if not rows:
        return 0
    # Rows of the plain table, not ORM objects: nothing reads them back in this transaction.
    table = cast(Table, OutboxMessage.__table__)
    inserted = await insert_many_skipping_conflicts(
        session, table, rows, unique=table.c.idempotency_key, returning=[table.c.id]
    )
    return len(inserted.all())
