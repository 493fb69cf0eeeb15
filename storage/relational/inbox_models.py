"""The alerts inbox: device events a gateway committed for a separate ``fm alerts`` to handle."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.relational.models import Base, UtcDateTime

# BIGINT on PostgreSQL (the inbox turns over many events); SQLite's rowid needs INTEGER.
InboxId = BigInteger().with_variant(Integer(), "sqlite")


class InboxEvent(Base):
    """One device or building event (JSON, core/event_codec.py), in the order it was written.

    A row lives from the gateway's commit until the alerts transaction that handles it deletes
    it, so handling and removal commit together. A row that fails on its own (a bug, not an
    outage) keeps ``failed_at`` and ``error``: it is counted and kept for an operator, never lost.
    """

    __tablename__ = "event_inbox"

    id: Mapped[int] = mapped_column(InboxId, primary_key=True, autoincrement=True)
    payload: Mapped[str] = mapped_column(Text)
    written_at: Mapped[datetime] = mapped_column(UtcDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    error: Mapped[str | None] = mapped_column(Text)
