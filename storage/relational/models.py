"""ORM models. Portable SQL only: nothing here may assume SQLite (PostgreSQL runs in production)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Generic, TypeVar

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes; always gives back aware UTC (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


EnumT = TypeVar("EnumT", bound=StrEnum)


class EnumString(TypeDecorator[EnumT], Generic[EnumT]):
    """A ``StrEnum`` stored as its value in a plain string column (no database enum type).

    The column stays ``VARCHAR(n)`` for migrations; Python sees the enum member on read and may
    bind either the member or its string value.
    """

    impl = String
    cache_ok = True

    def __init__(self, enum_class: type[EnumT], length: int) -> None:
        super().__init__(length)
        self.enum_class = enum_class
        self.length = length

    def process_bind_param(self, value: EnumT | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum_class(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> EnumT | None:
        return None if value is None else self.enum_class(value)


class Base(DeclarativeBase):
    """Declarative base with a stable constraint naming convention (for Alembic)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class OrderStatus(StrEnum):
    """Work-order lifecycle states."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """No further transitions (a recurrence opens or reopens an order instead)."""
        return self in (OrderStatus.CLOSED, OrderStatus.CANCELLED)


class OrderScope(StrEnum):
    """What a work order is about: one device, or an incident of many (root-cause grouping)."""

    DEVICE = "device"
    BUILDING = "building"
    COMMUNITY = "community"
    STREET = "street"


class WorkOrder(Base):
    """A job for a grid team about one fault of one device."""

    __tablename__ = "work_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # What the order is about: one device, or a whole building (root-cause incident grouping
    # many devices' faults); building orders have no device_id.
    scope: Mapped[OrderScope] = mapped_column(EnumString(OrderScope, 16), default=OrderScope.DEVICE)
    device_id: Mapped[str | None] = mapped_column(String(64), index=True)
    fault_code: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[OrderStatus] = mapped_column(
        EnumString(OrderStatus, 16), default=OrderStatus.OPEN, index=True
    )
    tier: Mapped[str] = mapped_column(String(16), default="grid")
    building_id: Mapped[str] = mapped_column(String(64))
    grid_id: Mapped[str] = mapped_column(String(64), index=True)
    community_id: Mapped[str] = mapped_column(String(64))
    team_id: Mapped[str] = mapped_column(String(64), index=True)
    assignee: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
    # "device_id:fault_code" while the order is not terminal, NULL after: a unique column that
    # enforces one open order per (device, fault) on every database, across replicas.
    open_key: Mapped[str | None] = mapped_column(String(140), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    recovered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    # SLA clock of the current tier; the escalation sweep reads these (any replica may run it).
    ack_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    resolve_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    next_reminder_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # A lesser order explained by an open critical one (e.g. port faults during a breaker trip).
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"))
    # Raised inside a maintenance window / silence: recorded, pages nobody, no SLA.
    silenced: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped by every UPDATE of the order (``alerts.orders.versioned``, the one writer of this
    # table after the INSERT); clients send it back so a stale command answers 409.
    version: Mapped[int] = mapped_column(Integer, default=1)


class Episode(Base):
    """One interval during which a fault (or ``offline``) of a device was active."""

    __tablename__ = "episodes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"))
    # "device_id:code" while the episode is open, NULL once ended: one open episode per fault.
    open_key: Mapped[str | None] = mapped_column(String(140), unique=True)
    # Root-cause grouping holds the page (not the episode): when the hold ends, the grouping
    # decision gives the episode an order, an incident, or nothing (it ended meanwhile).
    page_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)

    __table_args__ = (
        Index("ix_episodes_device_started", "device_id", "started_at"),
        # Covers the reports' history read (reports/reading.py): the index alone answers it.
        Index("ix_episodes_history", "device_id", "started_at", "ended_at", "code"),
    )
