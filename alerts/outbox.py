"""Outbox rows for order changes: who hears about a change, and what they receive.

One row per (change, destination): the team's MQTT topic, the SSE stream, and every enabled
endpoint whose scope covers the order. The rows are inserted in the caller's transaction with
``ON CONFLICT (idempotency_key) DO NOTHING``, so recording the same change twice adds nothing
and a rolled-back change leaves no notification behind.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from alerts.changes import OrderChange
from alerts.errors import UnsupportedDatabaseError
from governance.model import Site, Tier
from sensors.catalogue import Severity
from storage.relational.outbox_models import (
    Channel,
    NotificationEndpoint,
    OutboxMessage,
    OutboxState,
    ScopeKind,
)

#: Version of the notification JSON; bump when a field changes meaning.
PAYLOAD_SCHEMA = 1

# Tiers at which an order concerns the community and the street, beyond its grid.
_COMMUNITY_TIERS = frozenset({Tier.COMMUNITY.value, Tier.STREET.value})
_STREET_TIERS = frozenset({Tier.STREET.value})


@dataclass(frozen=True, slots=True)
class Destination:
    """Where one row of a change goes; ``name`` ends its idempotency key."""

    channel: Channel
    name: str
    team_id: str | None = None  # MQTT rows: the team whose workorders topic they go to
    endpoint_id: int | None = None


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
        "order_id": change.order_id,
        "version": change.version,
        "device_id": change.device_id,
        "fault_code": change.fault_code,
        "severity": change.severity,
        "priority": change.priority,
        "status": change.status,
        "tier": change.tier,
        "team_id": change.team_id,
        "grid_id": change.grid_id,
        "assignee": change.assignee,
        "occurrences": change.occurrences,
        "parent_id": change.parent_id,
        "silenced": change.silenced,
        "department_id": change.department_id,
        "from_tier": change.from_tier,
        "reason": change.reason,
    }


def endpoint_covers(endpoint: NotificationEndpoint, change: OrderChange, site: Site) -> bool:
    """True when the endpoint's scope includes the order of ``change``.

    Team and grid endpoints hear everything about their grid's orders; community and street
    endpoints hear an order once it sits at (or was escalated to) their tier, or when it is
    critical ("big things don't leave the community"); a department hears the fault codes it
    handles.
    """
    scope, scope_id = endpoint.scope_kind, endpoint.scope_id
    if scope == ScopeKind.TEAM:
        return change.team_id == scope_id
    if scope == ScopeKind.GRID:
        return change.grid_id == scope_id
    critical = change.severity == Severity.CRITICAL.value
    if scope == ScopeKind.COMMUNITY:
        grid = site.grids.get(change.grid_id)
        in_community = grid is not None and grid.community_id == scope_id
        return in_community and (critical or change.tier in _COMMUNITY_TIERS)
    if scope == ScopeKind.STREET:
        return site.street.id == scope_id and (critical or change.tier in _STREET_TIERS)
    if scope == ScopeKind.DEPARTMENT:
        if change.department_id is not None:  # a department's own dispatch, reminder or ack
            return change.department_id == scope_id
        department = site.departments.get(scope_id)
        return department is not None and change.fault_code in department.handles
    return False


def destinations(
    change: OrderChange,
    *,
    site: Site,
    endpoints: Iterable[NotificationEndpoint],
) -> list[Destination]:
    """Every destination of ``change``: stream, team topic, then matching enabled endpoints.

    A change that pages nobody (silenced, or linked under an explaining order) is streamed only.
    """
    found = [Destination(Channel.SSE, "sse")]
    if not change.pages:
        return found
    found.append(Destination(Channel.MQTT, "mqtt", team_id=change.team_id))
    for endpoint in endpoints:
        if endpoint.enabled and endpoint_covers(endpoint, change, site):
            found.append(Destination(Channel(endpoint.kind), f"ep{endpoint.id}", None, endpoint.id))
    return found


def outbox_rows(
    change: OrderChange, targets: Sequence[Destination], *, now: datetime
) -> list[dict[str, Any]]:
    """Insertable outbox values for ``change`` going to ``targets``."""
    rows: list[dict[str, Any]] = []
    for destination in targets:
        key = idempotency_key(change, destination)
        # The stream needs no delivery attempt: committing the row is what publishes it.
        streamed = destination.channel is Channel.SSE
        rows.append(
            {
                "idempotency_key": key,
                "channel": destination.channel.value,
                "team_id": destination.team_id,
                "endpoint_id": destination.endpoint_id,
                "order_id": change.order_id,
                "event": change.kind.value,
                "payload": json.dumps(notification(change, key=key), separators=(",", ":")),
                "state": (OutboxState.DELIVERED if streamed else OutboxState.PENDING).value,
                "created_at": now,
                "next_attempt_at": now,
                "attempts": 0,
                "delivered_at": now if streamed else None,
            }
        )
    return rows


async def enabled_endpoints(session: AsyncSession) -> list[NotificationEndpoint]:
    """The endpoints that currently receive notifications."""
    query = select(NotificationEndpoint).where(NotificationEndpoint.enabled.is_(True))
    return list((await session.scalars(query.order_by(NotificationEndpoint.id))).all())


async def insert_rows(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert outbox rows, skipping keys already present; how many were new."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(OutboxMessage).on_conflict_do_nothing(
            index_elements=[OutboxMessage.idempotency_key]
        )
    elif dialect == "sqlite":
        statement = sqlite.insert(OutboxMessage).on_conflict_do_nothing(
            index_elements=[OutboxMessage.idempotency_key]
        )
    else:
        raise UnsupportedDatabaseError(dialect)
    inserted = await session.scalars(statement.values(list(rows)).returning(OutboxMessage.id))
    return len(inserted.all())
