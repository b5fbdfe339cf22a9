"""grant_decision: at most one decision per application waits for confirmation (partial unique index)

Revision ID: 0013_one_pending_grant_decision
Revises: 0012_portal
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_one_pending_grant_decision"
down_revision = "0012_portal"  # re-chained at merge
branch_labels = None
depends_on = None

INDEX = "uq_grant_decision_one_pending"
PENDING = sa.text("state = 'pending'")


def upgrade() -> None:
    op.create_index(
        INDEX, "grant_decision", ["application_id"], unique=True, sqlite_where=PENDING, postgresql_where=PENDING
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="grant_decision")
