"""Residents' Open311 reports, and the notices that close the loop with them.

A report never owns a work order: it follows one (the order a sensor raised, another resident's,
or the one its own submission opened), so one problem is one job however many people report it.
Contact columns are private: no public endpoint ever returns them (see ``residents.public``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.relational.models import Base, UtcDateTime


class ResidentReport(Base):
    """One Open311 service request from a resident, following one work order."""

    __tablename__ = "resident_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # The public Open311 id: random, so ids say nothing about how many reports exist.
    service_request_id: Mapped[str] = mapped_column(String(32), unique=True)
    # SHA-256 of the tracking token; the token itself is shown once, to the reporter.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    service_code: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    # True when the report joined an order that was already open (it did not open one).
    joined: Mapped[bool] = mapped_column(default=False)
    building_id: Mapped[str] = mapped_column(String(64))
    grid_id: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    media_url: Mapped[str | None] = mapped_column(String(2048))
    address_string: Mapped[str | None] = mapped_column(String(255))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    # Private contact fields, as given (all optional in Open311).
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str | None] = mapped_column(String(64))
    last_name: Mapped[str | None] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(String(64))
    account_id: Mapped[str | None] = mapped_column(String(64))
    # SHA-256 of the submitting client's address: the rate limit counts it, nobody reads it.
    client_hash: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # The order's ``resolved_at`` the reporter was last told about (one notice per resolution).
    notified_resolution_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Feedback with the tracking token: confirmed (True) or rejected (False) the fix, rating 1-5.
    confirmed: Mapped[bool | None] = mapped_column()
    rejections: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[int | None] = mapped_column(Integer)
    feedback_comment: Mapped[str | None] = mapped_column(Text)
    feedback_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ix_resident_reports_client_requested", "client_hash", "requested_at"),
        Index("ix_resident_reports_requested_at", "requested_at"),
    )


class ResidentNotice(Base):
    """One message to a reporter through the contact they gave (e-mail or phone).

    Rows wait ``pending`` for a mail/SMS channel; when a resident webhook endpoint is configured
    the same notice also goes through the shared outbox, delivered at least once by the relay.
    """

    __tablename__ = "resident_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # "<report id>:<event>:<order resolved_at>": recording the same notice twice adds nothing.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("resident_reports.id"), index=True)
    order_id: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))  # "email" or "phone"
    event: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
