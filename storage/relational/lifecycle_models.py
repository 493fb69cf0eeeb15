"""The work-order lifecycle's own tables: the append-only transition audit and comments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.relational.models import Base, EnumString, OrderStatus, UtcDateTime


class OrderTransition(Base):
    """One change of an order's status or assignee: who, when, why, from what to what.

    Rows are only ever inserted (the audit of an order); the service never updates them.
    """

    __tablename__ = "order_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"))
    # ack, start, resolve, close, cancel, reassign, or reopen (a recurrence, actor "system").
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[OrderStatus] = mapped_column(EnumString(OrderStatus, 16))
    to_status: Mapped[OrderStatus] = mapped_column(EnumString(OrderStatus, 16))
    from_assignee: Mapped[str | None] = mapped_column(String(64))
    to_assignee: Mapped[str | None] = mapped_column(String(64))
    # The authenticated principal's subject, and the team member it acted for (if any).
    actor: Mapped[str] = mapped_column(String(64))
    on_behalf_of: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    # The order's version right after this transition.
    version: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_order_transitions_order_id", "order_id", "id"),)


class OrderComment(Base):
    """A free-text remark on an order; allowed in every state, never changes the order."""

    __tablename__ = "order_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"))
    author: Mapped[str] = mapped_column(String(64))
    on_behalf_of: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_order_comments_order_id", "order_id", "id"),)
