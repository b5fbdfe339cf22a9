"""grant_decision (approval, amendment, revocation with four eyes); application: funded period, status 'revoked'

Revision ID: 0010_grant_decisions
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_grant_decisions"
down_revision = "0009"
branch_labels = None
depends_on = None

APPLICATION_CHECK = "ck_application_applicationstatus"
APPLICATION_BEFORE = ("draft", "submitted", "approved", "rejected", "changes_requested", "withdrawn")
APPLICATION_AFTER = (*APPLICATION_BEFORE, "revoked")
KINDS = ("approval", "amendment", "revocation")
STATES = ("pending", "confirmed", "rejected")


def _application_check(values: tuple[str, ...]) -> None:
    with op.batch_alter_table("application") as batch_op:
        batch_op.drop_constraint(op.f(APPLICATION_CHECK), type_="check")
        batch_op.create_check_constraint(op.f(APPLICATION_CHECK), sa.column("status").in_(values))


def upgrade() -> None:
    money = sa.Numeric(precision=12, scale=2)
    op.create_table(
        "grant_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("application_revision", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum(*KINDS, name="grantactkind", native_enum=False, length=32, create_constraint=True),
                  nullable=False),
        sa.Column("state", sa.Enum(*STATES, name="grantactstate", native_enum=False, length=32,
                                   create_constraint=True), nullable=False),
        sa.Column("granted_personnel_eur", money, nullable=True),
        sa.Column("granted_material_eur", money, nullable=True),
        sa.Column("effective_on", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=4000), nullable=True),
        sa.Column("budget_override_reason", sa.String(length=1000), nullable=True),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.String(length=200), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_reason", sa.String(length=1000), nullable=True),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"],
                                name=op.f("fk_grant_decision_application_id_application")),
        sa.ForeignKeyConstraint(["decision_id"], ["decision.id"], name=op.f("fk_grant_decision_decision_id_decision")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_decision")),
    )  # fmt: skip
    op.create_index(op.f("ix_grant_decision_application_id"), "grant_decision", ["application_id"])
    # every approval so far took effect at once: it becomes the application's first (confirmed) grant decision
    op.execute(
        "INSERT INTO grant_decision (application_id, application_revision, kind, state, granted_personnel_eur, "
        "granted_material_eur, reason, requested_by, requested_at, reviewed_by, reviewed_at, decision_id) "
        "SELECT application_id, application_revision, 'approval', 'confirmed', granted_personnel_eur, "
        "granted_material_eur, message, decided_by, decided_at, decided_by, decided_at, id "
        "FROM decision WHERE outcome = 'approved' ORDER BY id"
    )
    with op.batch_alter_table("application") as batch_op:
        batch_op.add_column(sa.Column("period_start", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("period_end", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("vacancies", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    _application_check(APPLICATION_AFTER)


def downgrade() -> None:
    op.execute("UPDATE application SET status = 'approved' WHERE status = 'revoked'")
    _application_check(APPLICATION_BEFORE)
    with op.batch_alter_table("application") as batch_op:
        batch_op.drop_column("vacancies")
        batch_op.drop_column("period_end")
        batch_op.drop_column("period_start")
    op.drop_index(op.f("ix_grant_decision_application_id"), table_name="grant_decision")
    op.drop_table("grant_decision")
