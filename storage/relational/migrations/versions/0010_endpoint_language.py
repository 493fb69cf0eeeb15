"""Notification endpoints: the language their messages are written in.

Revision ID: 0010_endpoint_language
Revises: 0009_event_inbox
Create Date: 2026-12-01

``notification_endpoints.language`` is ``zh`` or ``en``; NULL (every existing endpoint) means the
site file's default, ``street.language`` (docs/notifications.md).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010_endpoint_language"
down_revision: str | None = "0009_event_inbox"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the nullable ``language`` column (existing endpoints follow the site's default)."""
    with op.batch_alter_table("notification_endpoints") as batch:
        batch.add_column(sa.Column("language", sa.String(8), nullable=True))


def downgrade() -> None:
    """Drop the column (every endpoint then speaks the site's default)."""
    with op.batch_alter_table("notification_endpoints") as batch:
        batch.drop_column("language")
