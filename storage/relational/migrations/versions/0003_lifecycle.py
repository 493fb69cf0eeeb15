"""Work-order lifecycle: the transition audit and comments.

Revision ID: 0003_lifecycle
Revises: 0002
Create Date: 2026-12-01

Written by hand against storage/relational/lifecycle_models.py (names follow the naming
convention of models.py). ``work_orders`` already has every lifecycle column (0002).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_lifecycle"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def _ts(name: str) -> sa.Column[object]:
    """A required aware timestamp column (models.UtcDateTime stores DateTime(timezone=True))."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _order_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["order_id"], ["work_orders.id"], name=f"fk_{table}_order_id_work_orders"
    )


def upgrade() -> None:
    """Create order_transitions and order_comments, each indexed by order."""
    op.create_table(
        "order_transitions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("from_assignee", sa.String(length=64), nullable=True),
        sa.Column("to_assignee", sa.String(length=64), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("on_behalf_of", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _ts("at"),
        sa.PrimaryKeyConstraint("id", name="pk_order_transitions"),
        _order_fk("order_transitions"),
    )
    op.create_index("ix_order_transitions_order_id", "order_transitions", ["order_id", "id"])
    op.create_table(
        "order_comments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("on_behalf_of", sa.String(length=64), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_order_comments"),
        _order_fk("order_comments"),
    )
    op.create_index("ix_order_comments_order_id", "order_comments", ["order_id", "id"])


def downgrade() -> None:
    """Drop both tables (their rows go with them)."""
    op.drop_index("ix_order_comments_order_id", table_name="order_comments")
    op.drop_table("order_comments")
    op.drop_index("ix_order_transitions_order_id", table_name="order_transitions")
    op.drop_table("order_transitions")
