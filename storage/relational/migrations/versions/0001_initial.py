"""Initial schema: work orders and fault episodes.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Written by hand against storage/relational/models.py: constraint and index names follow the
naming convention there, so later migrations can address them on SQLite and PostgreSQL alike.
Defaults are applied by the ORM (Python side), as in the models, so no server defaults here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _ts(name: str, *, nullable: bool) -> sa.Column[object]:
    """An aware timestamp column (models.UtcDateTime stores DateTime(timezone=True))."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create work_orders and episodes with their keys, indexes and foreign key."""
    op.create_table(
        "work_orders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("fault_code", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("building_id", sa.String(length=64), nullable=False),
        sa.Column("grid_id", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.String(length=64), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        # "device_id:fault_code" while not terminal, NULL after: one open order per fault.
        sa.Column("open_key", sa.String(length=140), nullable=True),
        _ts("created_at", nullable=False),
        _ts("updated_at", nullable=False),
        _ts("acknowledged_at", nullable=True),
        _ts("started_at", nullable=True),
        _ts("resolved_at", nullable=True),
        _ts("closed_at", nullable=True),
        _ts("recovered_at", nullable=True),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        # Optimistic locking (mapper version_id_col): a stale update matches no row.
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_work_orders"),
        sa.UniqueConstraint("open_key", name="uq_work_orders_open_key"),
    )
    op.create_index("ix_work_orders_device_id", "work_orders", ["device_id"])
    op.create_index("ix_work_orders_status", "work_orders", ["status"])
    op.create_index("ix_work_orders_grid_id", "work_orders", ["grid_id"])
    op.create_index("ix_work_orders_team_id", "work_orders", ["team_id"])

    op.create_table(
        "episodes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        _ts("started_at", nullable=False),
        _ts("ended_at", nullable=True),
        sa.Column("work_order_id", sa.Integer(), nullable=True),
        # "device_id:code" while the episode is open, NULL once ended: one open episode per fault.
        sa.Column("open_key", sa.String(length=140), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_episodes"),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name="fk_episodes_work_order_id_work_orders",
        ),
        sa.UniqueConstraint("open_key", name="uq_episodes_open_key"),
    )
    op.create_index("ix_episodes_device_started", "episodes", ["device_id", "started_at"])


def downgrade() -> None:
    """Drop both tables (episodes first: it references work_orders)."""
    op.drop_index("ix_episodes_device_started", table_name="episodes")
    op.drop_table("episodes")
    for column in ("team_id", "grid_id", "status", "device_id"):
        op.drop_index(f"ix_work_orders_{column}", table_name="work_orders")
    op.drop_table("work_orders")
