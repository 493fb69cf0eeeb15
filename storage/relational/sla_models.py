"""SLA policies, department dispatches, silences and duty rosters (escalation's own tables)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.relational.models import Base, EnumString, UtcDateTime


class SilenceScope(StrEnum):
    """What a silence (maintenance window) covers."""

    DEVICE = "device"
    BUILDING = "building"
    GRID = "grid"


class SlaPolicy(Base):
    """Deadlines of one severity, in seconds; each tier restarts the clock with these."""

    __tablename__ = "sla_policies"

    severity: Mapped[str] = mapped_column(String(16), primary_key=True)
    ack_s: Mapped[int] = mapped_column(Integer)
    resolve_s: Mapped[int] = mapped_column(Integer)
    # Unacknowledged orders (and department dispatches) are reminded this often.
    reminder_s: Mapped[int] = mapped_column(Integer)
    # How long a dispatched department has to acknowledge (its own, parallel clock).
    department_ack_s: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DepartmentDispatch(Base):
    """A functional department (fire, water …) called out for an order, with its ack clock."""

    __tablename__ = "department_dispatches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"))
    department_id: Mapped[str] = mapped_column(String(64))
    dispatched_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ack_due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # NULL once acknowledged: the sweep only looks at rows with a reminder pending.
    next_reminder_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("order_id", "department_id"),)


class Silence(Base):
    """A maintenance window: faults inside it are recorded but page nobody and have no SLA."""

    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope_kind: Mapped[SilenceScope] = mapped_column(EnumString(SilenceScope, 16))
    scope_id: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_silences_scope", "scope_kind", "scope_id"),)


class DutyRoster(Base):
    """One shift: ``member_id`` of ``team_id`` is on duty in [starts_at, ends_at)."""

    __tablename__ = "duty_rosters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_duty_rosters_team_starts", "team_id", "starts_at"),)
