"""SLA policies per severity (in the database) and the order's clock at its current tier.

The clock of an order is three columns of ``work_orders``: ``ack_due_at`` (only while nobody
has acknowledged), ``resolve_due_at`` and ``next_reminder_at`` (only while unacknowledged).
Every tier restarts it: opening, escalating and handing back all call :func:`clock_values`.
Silenced and linked orders have no clock at all.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sensors.catalogue import Severity
from storage.relational.models import OrderStatus
from storage.relational.sla_models import SlaPolicy

log = logging.getLogger(__name__)

#: Longest deadline a policy may set (30 days): longer is a typo, not a service level.
MAX_DEADLINE_S = 30 * 24 * 3600


@dataclass(frozen=True, slots=True)
class SlaTimes:
    """The deadlines of one severity, in seconds."""

    ack_s: int
    resolve_s: int
    reminder_s: int
    department_ack_s: int

    def __post_init__(self) -> None:
        for name in ("ack_s", "resolve_s", "reminder_s", "department_ack_s"):
            value = getattr(self, name)
            if not 0 < value <= MAX_DEADLINE_S:
                raise ValueError(f"{name} must be in 1..{MAX_DEADLINE_S} seconds, got {value}")
        if self.resolve_s < self.ack_s:
            raise ValueError(
                f"resolve_s ({self.resolve_s}) must not be shorter than ack_s ({self.ack_s})"
            )

    @classmethod
    def of(cls, policy: SlaPolicy) -> SlaTimes:
        """The times of a stored policy row."""
        return cls(
            ack_s=policy.ack_s,
            resolve_s=policy.resolve_s,
            reminder_s=policy.reminder_s,
            department_ack_s=policy.department_ack_s,
        )


#: What migration 0005_sla seeds (a test keeps its frozen copy equal to this).
DEFAULT_POLICIES: Mapping[Severity, SlaTimes] = MappingProxyType(
    {
        Severity.CRITICAL: SlaTimes(
            ack_s=5 * 60, resolve_s=2 * 3600, reminder_s=2 * 60, department_ack_s=5 * 60
        ),
        Severity.MAJOR: SlaTimes(
            ack_s=15 * 60, resolve_s=8 * 3600, reminder_s=5 * 60, department_ack_s=15 * 60
        ),
        Severity.MINOR: SlaTimes(
            ack_s=2 * 3600, resolve_s=72 * 3600, reminder_s=30 * 60, department_ack_s=60 * 60
        ),
    }
)

# Statuses in which the order still waits for someone to acknowledge it.
UNACKNOWLEDGED = frozenset({OrderStatus.OPEN.value})
# Statuses in which the resolve deadline still runs.
UNRESOLVED = frozenset(
    {OrderStatus.OPEN.value, OrderStatus.ACKNOWLEDGED.value, OrderStatus.IN_PROGRESS.value}
)


async def load_policies(session: AsyncSession) -> dict[str, SlaTimes]:
    """Every stored policy by severity value (a small table, read once per sweep)."""
    rows = await session.scalars(select(SlaPolicy))
    return {row.severity: SlaTimes.of(row) for row in rows}


async def policy_for(session: AsyncSession, severity: str) -> SlaTimes | None:
    """The policy of one severity; None (logged) when the table has no row for it."""
    row = await session.get(SlaPolicy, severity)
    return policy_in({} if row is None else {severity: SlaTimes.of(row)}, severity)


def policy_in(policies: Mapping[str, SlaTimes], severity: str) -> SlaTimes | None:
    """The policy of one severity among ``policies`` (from :func:`load_policies`); None
    (logged) when there is none for it."""
    times = policies.get(severity)
    if times is None:
        log.warning("alerts: no SLA policy for severity %r; its orders get no SLA clock", severity)
    return times


async def list_policies(session: AsyncSession) -> list[SlaPolicy]:
    """Every stored policy, most severe first."""
    rows = list((await session.scalars(select(SlaPolicy))).all())
    return sorted(rows, key=lambda row: -Severity(row.severity).rank)


async def put_policy(
    session: AsyncSession, *, severity: Severity, times: SlaTimes, now: datetime
) -> SlaPolicy:
    """Create or replace the policy of ``severity``; open orders keep their current clock."""
    row = await session.get(SlaPolicy, severity.value)
    if row is None:
        row = SlaPolicy(severity=severity.value)
        session.add(row)
    row.ack_s = times.ack_s
    row.resolve_s = times.resolve_s
    row.reminder_s = times.reminder_s
    row.department_ack_s = times.department_ack_s
    row.updated_at = now
    await session.flush()
    return row


async def seed_default_policies(session: AsyncSession, *, now: datetime) -> None:
    """Insert :data:`DEFAULT_POLICIES` for severities without a row (schemas built without
    the migration, e.g. in tests)."""
    for severity, times in DEFAULT_POLICIES.items():
        if await session.get(SlaPolicy, severity.value) is None:
            await put_policy(session, severity=severity, times=times, now=now)


def clock_values(*, status: str, times: SlaTimes, now: datetime) -> dict[str, datetime | None]:
    """The clock columns of an order starting a tier at ``now`` in ``status``."""
    waiting = status in UNACKNOWLEDGED
    return {
        "ack_due_at": now + timedelta(seconds=times.ack_s) if waiting else None,
        "resolve_due_at": (
            now + timedelta(seconds=times.resolve_s) if status in UNRESOLVED else None
        ),
        "next_reminder_at": now + timedelta(seconds=times.reminder_s) if waiting else None,
    }


NO_CLOCK: Mapping[str, None] = MappingProxyType(
    {"ack_due_at": None, "resolve_due_at": None, "next_reminder_at": None}
)
