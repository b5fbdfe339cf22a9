"""deliverable: status 'waived' ("entfällt") with waived_reason and waived_at; application: status 'withdrawn'

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

CHECK = "ck_deliverable_deliverablestatus"
BEFORE = ("outstanding", "received_on_time", "received_late")
AFTER = (*BEFORE, "waived")
APPLICATION_CHECK = "ck_application_applicationstatus"
APPLICATION_BEFORE = ("draft", "submitted", "approved", "rejected", "changes_requested")
APPLICATION_AFTER = (*APPLICATION_BEFORE, "withdrawn")


def _application_check(values: tuple[str, ...]) -> None:
    with op.batch_alter_table("application") as batch_op:
        batch_op.drop_constraint(op.f(APPLICATION_CHECK), type_="check")
        batch_op.create_check_constraint(op.f(APPLICATION_CHECK), sa.column("status").in_(values))


def upgrade() -> None:
    with op.batch_alter_table("deliverable") as batch_op:
        batch_op.add_column(sa.Column("waived_reason", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("waived_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(op.f(CHECK), type_="check")
        batch_op.create_check_constraint(op.f(CHECK), sa.column("status").in_(AFTER))
    _application_check(APPLICATION_AFTER)


def downgrade() -> None:
    op.execute("UPDATE application SET status = 'submitted' WHERE status = 'withdrawn'")
    _application_check(APPLICATION_BEFORE)
    op.execute("UPDATE deliverable SET status = 'outstanding' WHERE status = 'waived'")
    with op.batch_alter_table("deliverable") as batch_op:
        batch_op.drop_constraint(op.f(CHECK), type_="check")
        batch_op.create_check_constraint(op.f(CHECK), sa.column("status").in_(BEFORE))
        batch_op.drop_column("waived_at")
        batch_op.drop_column("waived_reason")
