"""Outbox and notification-endpoint tables (the transactional outbox of order changes)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.relational.models import Base, EnumString, UtcDateTime


class EndpointKind(StrEnum):
    """How an external endpoint is spoken to."""

    WEBHOOK = "webhook"  # plain JSON POST, HMAC-signed when a secret is set
    WECOM = "wecom"  # WeCom (企业微信) group robot
    DINGTALK = "dingtalk"  # DingTalk (钉钉) group robot, signed when a secret is set


class ScopeKind(StrEnum):
    """Which orders an endpoint hears about."""

    TEAM = "team"
    GRID = "grid"
    COMMUNITY = "community"
    STREET = "street"
    DEPARTMENT = "department"


class Channel(StrEnum):
    """Where one outbox row goes."""

    MQTT = "mqtt"
    WEBHOOK = "webhook"
    WECOM = "wecom"
    DINGTALK = "dingtalk"
    SSE = "sse"


class Language(StrEnum):
    """The language people read an endpoint's notifications in."""

    ZH = "zh"  # Simplified Chinese, what the street's people work in
    EN = "en"


class OutboxState(StrEnum):
    """Delivery state of one outbox row."""

    PENDING = "pending"  # waiting for (another) delivery attempt
    DELIVERED = "delivered"  # the destination acknowledged it (SSE rows: committed = streamed)
    DEAD = "dead"  # gave up: max attempts reached or the endpoint is gone


class NotificationEndpoint(Base):
    """An external receiver (webhook, WeCom or DingTalk robot) for one scope of the site."""

    __tablename__ = "notification_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[EndpointKind] = mapped_column(EnumString(EndpointKind, 16))
    url: Mapped[str] = mapped_column(String(2048))
    # HMAC key of a webhook or signing secret of a DingTalk robot; never returned by the API.
    secret: Mapped[str | None] = mapped_column(String(256))
    scope_kind: Mapped[ScopeKind] = mapped_column(EnumString(ScopeKind, 16))
    scope_id: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # NULL: the site file's default (``street.language``), so changing that changes these too.
    language: Mapped[Language | None] = mapped_column(EnumString(Language, 8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_notification_endpoints_scope", "scope_kind", "scope_id"),)


class OutboxMessage(Base):
    """One notification of one order change to one destination, written in the change's tx."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # "<order_id>:<version>:<kind>:<destination>": recording a change twice inserts nothing.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[Channel] = mapped_column(EnumString(Channel, 16))
    # The team whose workorders topic an MQTT row goes to (the dispatcher adds its topic prefix).
    team_id: Mapped[str | None] = mapped_column(String(64))
    endpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification_endpoints.id", ondelete="SET NULL")
    )
    order_id: Mapped[int] = mapped_column(Integer, index=True)
    event: Mapped[str] = mapped_column(String(32))  # the change kind
    payload: Mapped[str] = mapped_column(Text)  # the JSON notification, as delivered
    state: Mapped[OutboxState] = mapped_column(
        EnumString(OutboxState, 16), default=OutboxState.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Lease of the dispatcher working on the row; its token must match when it marks the row.
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claim_token: Mapped[str | None] = mapped_column(String(64))
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    dead_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_outbox_state_due", "state", "next_attempt_at"),
        Index("ix_outbox_channel_id", "channel", "id"),
    )
