"""reminder log (which ladder stage was planned for whom and which due date); deliverable.due_revision

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminder_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=100), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("planned_for", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_log")),
        sa.UniqueConstraint(
            "scope", "ref", "year", "stage", "due_date", name=op.f("uq_reminder_log_scope_ref_year_stage_due_date")
        ),
    )
    with op.batch_alter_table("reminder_log") as batch_op:
        batch_op.create_index(batch_op.f("ix_reminder_log_year"), ["year"], unique=False)
    with op.batch_alter_table("deliverable") as batch_op:
        batch_op.add_column(sa.Column("due_revision", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("deliverable") as batch_op:
        batch_op.drop_column("due_revision")
    with op.batch_alter_table("reminder_log") as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_log_year"))
    op.drop_table("reminder_log")
