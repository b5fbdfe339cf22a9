"""application.decision_run_id; meeting.cancel_reason and meeting.updated_at

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("application") as batch_op:
        batch_op.add_column(sa.Column("decision_run_id", sa.String(length=64), nullable=True))
    with op.batch_alter_table("meeting") as batch_op:
        batch_op.add_column(sa.Column("cancel_reason", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meeting") as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("cancel_reason")
    with op.batch_alter_table("application") as batch_op:
        batch_op.drop_column("decision_run_id")
