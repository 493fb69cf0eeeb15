"""The alerts inbox: events handed from ``fm gateway`` to a separate ``fm alerts``.

Revision ID: 0009_event_inbox
Revises: 0008_held_pages
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009_event_inbox"
down_revision: str | None = "0008_held_pages"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``event_inbox`` (empty: the inline hand-off never wrote one)."""
    op.create_table(
        "event_inbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_inbox")),
    )


def downgrade() -> None:
    """Drop the inbox; refuse while it holds events that no alerts process has handled."""
    pending = op.get_bind().execute(sa.text("SELECT count(*) FROM event_inbox")).scalar_one()
    if pending:
        raise RuntimeError(
            f"event_inbox holds {pending} unhandled events: run `fm alerts` until it is empty, "
            "then downgrade"
        )
    op.drop_table("event_inbox")
