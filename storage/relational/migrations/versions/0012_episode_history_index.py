"""Episodes: a covering index for the uptime reports' history read.

Revision ID: 0012_episode_history_index
Revises: 0010_endpoint_language
Create Date: 2026-12-01

The reports read every episode overlapping a window in (device, start) order, with its end and
code (reports/reading.py). With all four columns in one index the database walks the index alone
instead of fetching each row from the table as well: a year street-wide is some 240,000 rows.
"""

from __future__ import annotations

from alembic import op

revision: str = "0012_episode_history_index"
down_revision: str | None = "0010_endpoint_language"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the covering index (built from the existing rows)."""
    op.create_index(
        "ix_episodes_history", "episodes", ["device_id", "started_at", "ended_at", "code"]
    )


def downgrade() -> None:
    """Drop it: the reports still work, reading the table as well."""
    op.drop_index("ix_episodes_history", table_name="episodes")
