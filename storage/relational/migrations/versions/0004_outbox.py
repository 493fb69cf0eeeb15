"""Notification outbox and endpoints.

Revision ID: 0004_outbox
Revises: 0002
Create Date: 2026-12-01

Written by hand against storage/relational/outbox_models.py (names follow the naming
convention of models.py). Every order change writes its notifications into ``outbox`` in the
same transaction; the dispatcher delivers them from there.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004_outbox"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def _ts(name: str, *, nullable: bool) -> sa.Column[object]:
    """An aware timestamp column (models.UtcDateTime stores DateTime(timezone=True))."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create notification_endpoints and outbox with their keys and indexes."""
    op.create_table(
        "notification_endpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("secret", sa.String(length=256), nullable=True),
        sa.Column("scope_kind", sa.String(length=16), nullable=False),
        sa.Column("scope_id", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        _ts("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notification_endpoints"),
    )
    op.create_index(
        "ix_notification_endpoints_scope", "notification_endpoints", ["scope_kind", "scope_id"]
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=True),
        sa.Column("endpoint_id", sa.Integer(), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        _ts("created_at", nullable=False),
        _ts("next_attempt_at", nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("claimed_until", nullable=True),
        sa.Column("claim_token", sa.String(length=64), nullable=True),
        _ts("delivered_at", nullable=True),
        _ts("dead_at", nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["notification_endpoints.id"],
            name="fk_outbox_endpoint_id_notification_endpoints",
            ondelete="SET NULL",
        ),
    )
    op.create_index("ix_outbox_order_id", "outbox", ["order_id"])
    op.create_index("ix_outbox_state_due", "outbox", ["state", "next_attempt_at"])
    op.create_index("ix_outbox_channel_id", "outbox", ["channel", "id"])


def downgrade() -> None:
    """Drop the outbox, then the endpoints it refers to."""
    op.drop_index("ix_outbox_channel_id", table_name="outbox")
    op.drop_index("ix_outbox_state_due", table_name="outbox")
    op.drop_index("ix_outbox_order_id", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_notification_endpoints_scope", table_name="notification_endpoints")
    op.drop_table("notification_endpoints")
