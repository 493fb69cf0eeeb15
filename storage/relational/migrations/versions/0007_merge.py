"""Merge the lifecycle, outbox, SLA and detection branches into one head.

Revision ID: 0007_merge
Revises: 0003_lifecycle, 0004_outbox, 0005_sla, 0006_detection
Create Date: 2026-11-29

The four were written in parallel on top of 0002 and touch disjoint tables; later revisions
build on this single head.
"""

from __future__ import annotations

revision: str = "0007_merge"
down_revision: tuple[str, ...] = ("0003_lifecycle", "0004_outbox", "0005_sla", "0006_detection")
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Nothing to change: the branches' tables are independent."""


def downgrade() -> None:
    """Nothing to change."""
