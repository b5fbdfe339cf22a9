"""outbox_message.status: 'claimed' (taken by a dispatcher, not yet handed to the SMTP server)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

CHECK = "ck_outbox_message_outboxstatus"
BEFORE = ("pending", "sending", "sent", "failed", "unknown", "dismissed")
AFTER = ("pending", "claimed", "sending", "sent", "failed", "unknown", "dismissed")


def _replace_check(values: tuple[str, ...]) -> None:
    with op.batch_alter_table("outbox_message") as batch_op:
        batch_op.drop_constraint(op.f(CHECK), type_="check")
        batch_op.create_check_constraint(op.f(CHECK), sa.column("status").in_(values))


def upgrade() -> None:
    _replace_check(AFTER)


def downgrade() -> None:
    op.execute("UPDATE outbox_message SET status = 'pending', claimed_at = NULL, claimed_by = NULL "
               "WHERE status = 'claimed'")  # fmt: skip
    _replace_check(BEFORE)
