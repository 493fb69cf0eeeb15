"""Gateway state checkpoints and building-incident devices.

Revision ID: 0006_detection
Revises: 0002
Create Date: 2026-12-02

Written by hand against storage/relational/detection_models.py (names follow the naming
convention of models.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006_detection"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def _ts(name: str, *, nullable: bool) -> sa.Column[object]:
    """An aware timestamp column (models.UtcDateTime stores DateTime(timezone=True))."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create gateway_state and incident_devices."""
    op.create_table(
        "gateway_state",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        _ts("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("device_id", name="pk_gateway_state"),
    )
    op.create_table(
        "incident_devices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.String(length=140), nullable=False),
        _ts("attached_at", nullable=False),
        _ts("detached_at", nullable=True),
        sa.Column("open_key", sa.String(length=140), nullable=True),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name="fk_incident_devices_work_order_id_work_orders",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_incident_devices"),
        sa.UniqueConstraint("open_key", name="uq_incident_devices_open_key"),
    )
    op.create_index("ix_incident_devices_order", "incident_devices", ["work_order_id"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_index("ix_incident_devices_order", table_name="incident_devices")
    op.drop_table("incident_devices")
    op.drop_table("gateway_state")
