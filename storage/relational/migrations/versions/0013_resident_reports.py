"""Residents' Open311 reports (followers of work orders) and their notices.

Revision ID: 0013_resident_reports
Revises: 0012_episode_history_index
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0013_resident_reports"
down_revision: str | None = "0012_episode_history_index"
branch_labels: str | None = None
depends_on: str | None = None

_UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``resident_reports`` and ``resident_notices``."""
    op.create_table(
        "resident_reports",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("service_request_id", sa.String(32), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("service_code", sa.String(32), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("joined", sa.Boolean(), nullable=False),
        sa.Column("building_id", sa.String(64), nullable=False),
        sa.Column("grid_id", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("media_url", sa.String(2048), nullable=True),
        sa.Column("address_string", sa.String(255), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("phone", sa.String(64), nullable=True),
        sa.Column("first_name", sa.String(64), nullable=True),
        sa.Column("last_name", sa.String(64), nullable=True),
        sa.Column("device_id", sa.String(64), nullable=True),
        sa.Column("account_id", sa.String(64), nullable=True),
        sa.Column("client_hash", sa.String(64), nullable=False),
        sa.Column("requested_at", _UTC, nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.Column("notified_resolution_at", _UTC, nullable=True),
        sa.Column("confirmed", sa.Boolean(), nullable=True),
        sa.Column("rejections", sa.Integer(), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("feedback_comment", sa.Text(), nullable=True),
        sa.Column("feedback_at", _UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["work_orders.id"],
            name=op.f("fk_resident_reports_order_id_work_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident_reports")),
        sa.UniqueConstraint(
            "service_request_id", name=op.f("uq_resident_reports_service_request_id")
        ),
        sa.UniqueConstraint("token_hash", name=op.f("uq_resident_reports_token_hash")),
    )
    op.create_index(
        op.f("ix_resident_reports_order_id"), "resident_reports", ["order_id"], unique=False
    )
    op.create_index(
        op.f("ix_resident_reports_grid_id"), "resident_reports", ["grid_id"], unique=False
    )
    op.create_index(
        "ix_resident_reports_client_requested",
        "resident_reports",
        ["client_hash", "requested_at"],
        unique=False,
    )
    op.create_index(
        "ix_resident_reports_requested_at", "resident_reports", ["requested_at"], unique=False
    )
    op.create_table(
        "resident_notices",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["resident_reports.id"],
            name=op.f("fk_resident_notices_report_id_resident_reports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resident_notices")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_resident_notices_idempotency_key")),
    )
    op.create_index(
        op.f("ix_resident_notices_report_id"), "resident_notices", ["report_id"], unique=False
    )


def downgrade() -> None:
    """Drop the residents' tables (their reports and notices go with them)."""
    op.drop_index(op.f("ix_resident_notices_report_id"), table_name="resident_notices")
    op.drop_table("resident_notices")
    for index in (
        "ix_resident_reports_requested_at",
        "ix_resident_reports_client_requested",
        "ix_resident_reports_grid_id",
        "ix_resident_reports_order_id",
    ):
        op.drop_index(index, table_name="resident_reports")
    op.drop_table("resident_reports")
