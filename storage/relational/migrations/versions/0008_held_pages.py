"""Episodes: the page a root-cause grouping hold is keeping back.

Revision ID: 0008_held_pages
Revises: 0007_merge
Create Date: 2026-12-03

``episodes.page_due_at`` is set while the work order of an ``offline`` / ``no_power`` episode
waits for the grouping decision (docs/detection.md), NULL otherwise. Community- and
street-scoped incident orders need no schema change (``work_orders.scope`` is a plain string).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008_held_pages"
down_revision: str | None = "0007_merge"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the nullable ``page_due_at`` column and its index (existing episodes hold nothing)."""
    with op.batch_alter_table("episodes") as batch:
        batch.add_column(sa.Column("page_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_episodes_page_due_at", ["page_due_at"])


def downgrade() -> None:
    """Drop the column (held pages are lost: their episodes stay, without an order)."""
    with op.batch_alter_table("episodes") as batch:
        batch.drop_index("ix_episodes_page_due_at")
        batch.drop_column("page_due_at")
