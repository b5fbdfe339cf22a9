"""contact.undeliverable_at / undeliverable_reason: the mail server refused the address for good (and said why)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contact") as batch_op:
        batch_op.add_column(sa.Column("undeliverable_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("undeliverable_reason", sa.String(length=2000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contact") as batch_op:
        batch_op.drop_column("undeliverable_reason")
        batch_op.drop_column("undeliverable_at")
