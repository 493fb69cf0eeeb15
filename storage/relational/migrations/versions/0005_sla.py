"""SLA policies (seeded per severity), department dispatches, silences and duty rosters.

Revision ID: 0005_sla
Revises: 0002
Create Date: 2026-12-01

Written by hand against storage/relational/sla_models.py (names follow the naming convention
of models.py). The seed is a frozen copy of ``alerts.sla.DEFAULT_POLICIES`` as it was when this
revision was written (a test keeps the two equal); later edits go through the API.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0005_sla"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

#: severity: (ack_s, resolve_s, reminder_s, department_ack_s)
SEED_POLICIES = {
    "critical": (5 * 60, 2 * 3600, 2 * 60, 5 * 60),
    "major": (15 * 60, 8 * 3600, 5 * 60, 15 * 60),
    "minor": (2 * 3600, 72 * 3600, 30 * 60, 60 * 60),
}
_SEEDED_AT = datetime(2026, 12, 1, tzinfo=UTC)


def _ts(name: str, *, nullable: bool) -> sa.Column[object]:
    """An aware timestamp column (models.UtcDateTime stores DateTime(timezone=True))."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create the four tables and seed one SLA policy per severity."""
    policies = op.create_table(
        "sla_policies",
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("ack_s", sa.Integer(), nullable=False),
        sa.Column("resolve_s", sa.Integer(), nullable=False),
        sa.Column("reminder_s", sa.Integer(), nullable=False),
        sa.Column("department_ack_s", sa.Integer(), nullable=False),
        _ts("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("severity", name="pk_sla_policies"),
    )
    op.create_table(
        "department_dispatches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.String(length=64), nullable=False),
        _ts("dispatched_at", nullable=False),
        _ts("ack_due_at", nullable=False),
        _ts("next_reminder_at", nullable=True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        _ts("acknowledged_at", nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_department_dispatches"),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["work_orders.id"],
            name="fk_department_dispatches_order_id_work_orders",
        ),
        sa.UniqueConstraint("order_id", "department_id", name="uq_department_dispatches_order_id"),
    )
    op.create_index(
        "ix_department_dispatches_next_reminder_at",
        "department_dispatches",
        ["next_reminder_at"],
    )
    op.create_table(
        "silences",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope_kind", sa.String(length=16), nullable=False),
        sa.Column("scope_id", sa.String(length=64), nullable=False),
        _ts("starts_at", nullable=False),
        _ts("ends_at", nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        _ts("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_silences"),
    )
    op.create_index("ix_silences_scope", "silences", ["scope_kind", "scope_id"])
    op.create_table(
        "duty_rosters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        _ts("starts_at", nullable=False),
        _ts("ends_at", nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        _ts("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_duty_rosters"),
    )
    op.create_index("ix_duty_rosters_team_starts", "duty_rosters", ["team_id", "starts_at"])
    op.bulk_insert(
        policies,
        [
            {
                "severity": severity,
                "ack_s": ack_s,
                "resolve_s": resolve_s,
                "reminder_s": reminder_s,
                "department_ack_s": department_ack_s,
                "updated_at": _SEEDED_AT,
            }
            for severity, (ack_s, resolve_s, reminder_s, department_ack_s) in SEED_POLICIES.items()
        ],
    )


def downgrade() -> None:
    """Drop the four tables (their rows go with them)."""
    op.drop_index("ix_duty_rosters_team_starts", table_name="duty_rosters")
    op.drop_table("duty_rosters")
    op.drop_index("ix_silences_scope", table_name="silences")
    op.drop_table("silences")
    op.drop_index("ix_department_dispatches_next_reminder_at", table_name="department_dispatches")
    op.drop_table("department_dispatches")
    op.drop_table("sla_policies")
