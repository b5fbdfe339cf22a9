"""The portal: personal links, sessions, ministry accounts, uploads, rate-limit attempts

Revision ID: 0012_portal
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kim_workflow.db.types import UTCDateTime

revision = "0012_portal"
down_revision = "0011"
branch_labels = None
depends_on = None

KINDS = ("annual_report", "questionnaire")


def upgrade() -> None:
    op.create_table(
        "portal_account",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(200), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(300), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_account")),
        sa.UniqueConstraint("username", name=op.f("uq_portal_account_username")),
    )
    op.create_table(
        "portal_token",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("issued_for", sa.String(400), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("kommune_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], name=op.f("fk_portal_token_contact_id_contact")),
        sa.ForeignKeyConstraint(["kommune_id"], ["kommune.id"], name=op.f("fk_portal_token_kommune_id_kommune")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_token_token_hash")),
        sa.UniqueConstraint("issued_for", name=op.f("uq_portal_token_issued_for")),
    )
    op.create_index(op.f("ix_portal_token_contact_id"), "portal_token", ["contact_id"])
    op.create_index(op.f("ix_portal_token_kommune_id"), "portal_token", ["kommune_id"])
    op.create_table(
        "portal_session",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("kommune_id", sa.Integer(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], name=op.f("fk_portal_session_contact_id_contact")),
        sa.ForeignKeyConstraint(["kommune_id"], ["kommune.id"], name=op.f("fk_portal_session_kommune_id_kommune")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["portal_account.id"], name=op.f("fk_portal_session_account_id_portal_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_session")),
        sa.UniqueConstraint("session_hash", name=op.f("uq_portal_session_session_hash")),
    )
    op.create_table(
        "portal_upload",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kommune_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(*KINDS, name="deliverablekind", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column("stored_name", sa.String(100), nullable=False),
        sa.Column("original_name", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
        sa.Column("replaced_at", UTCDateTime(), nullable=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["kommune_id"], ["kommune.id"], name=op.f("fk_portal_upload_kommune_id_kommune")),
        sa.ForeignKeyConstraint(["uploaded_by"], ["contact.id"], name=op.f("fk_portal_upload_uploaded_by_contact")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_upload")),
    )
    op.create_index(op.f("ix_portal_upload_kommune_id"), "portal_upload", ["kommune_id"])
    op.create_index(op.f("ix_portal_upload_year"), "portal_upload", ["year"])
    op.create_table(
        "portal_attempt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("bucket", sa.String(100), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_attempt")),
    )
    op.create_index("ix_portal_attempt_bucket_at", "portal_attempt", ["bucket", "at"])


def downgrade() -> None:
    op.drop_index("ix_portal_attempt_bucket_at", table_name="portal_attempt")
    op.drop_table("portal_attempt")
    op.drop_index(op.f("ix_portal_upload_year"), table_name="portal_upload")
    op.drop_index(op.f("ix_portal_upload_kommune_id"), table_name="portal_upload")
    op.drop_table("portal_upload")
    op.drop_table("portal_session")
    op.drop_index(op.f("ix_portal_token_kommune_id"), table_name="portal_token")
    op.drop_index(op.f("ix_portal_token_contact_id"), table_name="portal_token")
    op.drop_table("portal_token")
    op.drop_table("portal_account")
