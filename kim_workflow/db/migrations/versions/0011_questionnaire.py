"""questionnaire_answers, questionnaire_answers_revision, questionnaire_import: the Fragebogen's answers

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    op.create_table(
        "questionnaire_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kommune_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("status", _enum("answerstatus", "draft", "submitted"), nullable=False),
        sa.Column("questionnaire_version", sa.String(length=32), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["kommune_id"], ["kommune.id"], name=op.f("fk_questionnaire_answers_kommune_id_kommune")
        ),
        sa.ForeignKeyConstraint(["year"], ["cycle.year"], name=op.f("fk_questionnaire_answers_year_cycle")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionnaire_answers")),
        sa.UniqueConstraint("kommune_id", "year", name=op.f("uq_questionnaire_answers_kommune_id_year")),
    )
    with op.batch_alter_table("questionnaire_answers") as batch_op:
        batch_op.create_index(batch_op.f("ix_questionnaire_answers_kommune_id"), ["kommune_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_questionnaire_answers_year"), ["year"], unique=False)
    op.create_table(
        "questionnaire_answers_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("answers_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("questionnaire_version", sa.String(length=32), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("source", _enum("answersource", "portal", "workbook", "cli"), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["answers_id"],
            ["questionnaire_answers.id"],
            name=op.f("fk_questionnaire_answers_revision_answers_id_questionnaire_answers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionnaire_answers_revision")),
        sa.UniqueConstraint(
            "answers_id", "revision", name=op.f("uq_questionnaire_answers_revision_answers_id_revision")
        ),
    )
    with op.batch_alter_table("questionnaire_answers_revision") as batch_op:
        batch_op.create_index(batch_op.f("ix_questionnaire_answers_revision_answers_id"), ["answers_id"], unique=False)
    op.create_table(
        "questionnaire_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("kommune_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["kommune_id"], ["kommune.id"], name=op.f("fk_questionnaire_import_kommune_id_kommune")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionnaire_import")),
        sa.UniqueConstraint("sha256", name=op.f("uq_questionnaire_import_sha256")),
    )
    with op.batch_alter_table("questionnaire_import") as batch_op:
        batch_op.create_index(batch_op.f("ix_questionnaire_import_kommune_id"), ["kommune_id"], unique=False)


def downgrade() -> None:
    op.drop_table("questionnaire_import")
    op.drop_table("questionnaire_answers_revision")
    op.drop_table("questionnaire_answers")
