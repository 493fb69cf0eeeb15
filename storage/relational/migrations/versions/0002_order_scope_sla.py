"""Work orders: building scope, SLA clock, reminders, parent link, silences, cancel and reopen.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29

Adds the columns the lifecycle, escalation and root-cause grouping work on. ``device_id``
becomes nullable: a building-scoped order (one incident for many devices) has none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def _ts(name: str) -> sa.Column[object]:
    """A nullable aware timestamp column."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    """Add the new columns (existing rows: device scope, not silenced, never reopened)."""
    with op.batch_alter_table("work_orders") as batch:
        batch.add_column(
            sa.Column("scope", sa.String(length=16), nullable=False, server_default="device")
        )
        batch.alter_column("device_id", existing_type=sa.String(length=64), nullable=True)
        batch.add_column(_ts("cancelled_at"))
        batch.add_column(
            sa.Column("reopen_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(_ts("ack_due_at"))
        batch.add_column(_ts("resolve_due_at"))
        batch.add_column(_ts("escalated_at"))
        batch.add_column(_ts("next_reminder_at"))
        batch.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("silenced", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_foreign_key(
            "fk_work_orders_parent_id_work_orders", "work_orders", ["parent_id"], ["id"]
        )
        batch.create_index("ix_work_orders_ack_due_at", ["ack_due_at"])
        batch.create_index("ix_work_orders_resolve_due_at", ["resolve_due_at"])
    # The server defaults only backfilled existing rows; the ORM sets these from now on.
    with op.batch_alter_table("work_orders") as batch:
        batch.alter_column("scope", server_default=None)
        batch.alter_column("reopen_count", server_default=None)
        batch.alter_column("silenced", server_default=None)


def downgrade() -> None:
    """Drop the columns again (building-scoped orders cannot survive a downgrade)."""
    op.execute(
        "UPDATE episodes SET work_order_id = NULL"
        " WHERE work_order_id IN (SELECT id FROM work_orders WHERE device_id IS NULL)"
    )
    op.execute("DELETE FROM work_orders WHERE device_id IS NULL")
    with op.batch_alter_table("work_orders") as batch:
        batch.drop_index("ix_work_orders_resolve_due_at")
        batch.drop_index("ix_work_orders_ack_due_at")
        batch.drop_constraint("fk_work_orders_parent_id_work_orders", type_="foreignkey")
        for column in (
            "silenced",
            "parent_id",
            "next_reminder_at",
            "escalated_at",
            "resolve_due_at",
            "ack_due_at",
            "reopen_count",
            "cancelled_at",
            "scope",
        ):
            batch.drop_column(column)
        batch.alter_column("device_id", existing_type=sa.String(length=64), nullable=False)
