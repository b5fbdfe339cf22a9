"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "cycle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("open", "closed", name="cyclestatus", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column("policy", sa.JSON(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cycle")),
        sa.UniqueConstraint("year", name=op.f("uq_cycle_year")),
    )
    op.create_table(
        "domain_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("subject_type", sa.String(length=50), nullable=False),
        sa.Column("subject_id", sa.String(length=100), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domain_event")),
        sa.UniqueConstraint("uuid", name=op.f("uq_domain_event_uuid")),
    )
    with op.batch_alter_table("domain_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_domain_event_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_domain_event_subject_id"), ["subject_id"], unique=False)

    op.create_table(
        "kommune",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ags", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "Landkreis",
                "kreisfreie Stadt",
                name="kommunekind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kommune")),
        sa.UniqueConstraint("ags", name=op.f("uq_kommune_ags")),
    )
    op.create_table(
        "meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "vernetzungstreffen",
                "arbeitstreffen",
                "fachveranstaltung",
                "other",
                name="meetingtype",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.String(length=500), nullable=True),
        sa.Column("video_link", sa.String(length=1000), nullable=True),
        sa.Column("agenda", sa.String(length=10000), nullable=True),
        sa.Column(
            "organiser",
            sa.Enum("fachreferat", "dbki", name="organiser", native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "scheduled",
                "cancelled",
                name="meetingstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("series_key", sa.String(length=100), nullable=True),
        sa.Column("minutes_ref", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting")),
        sa.UniqueConstraint("uid", name=op.f("uq_meeting_uid")),
    )
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_year"), ["year"], unique=False)

    op.create_table(
        "application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kommune_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "submitted",
                "approved",
                "rejected",
                "changes_requested",
                name="applicationstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("staff", sa.JSON(), nullable=False),
        sa.Column("fte_total", sa.Numeric(precision=4, scale=2), nullable=False),
        sa.Column("personnel_costs_eur", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("material_costs_eur", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("overhead_costs_eur", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("position_in_administration", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.String(length=4000), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["kommune_id"], ["kommune.id"], name=op.f("fk_application_kommune_id_kommune")),
        sa.ForeignKeyConstraint(["year"], ["cycle.year"], name=op.f("fk_application_year_cycle")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application")),
        sa.UniqueConstraint("kommune_id", "year", name=op.f("uq_application_kommune_id_year")),
    )
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_application_kommune_id"), ["kommune_id"], unique=False)

    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kommune_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "integration_manager",
                "deputy",
                "role_mailbox",
                "ministry",
                "dbki",
                name="contactrole",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["kommune_id"], ["kommune.id"], name=op.f("fk_contact_kommune_id_kommune")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact")),
        sa.UniqueConstraint("kommune_id", "email", "role", name=op.f("uq_contact_kommune_id_email_role")),
    )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_email"), ["email"], unique=False)
        batch_op.create_index(batch_op.f("ix_contact_kommune_id"), ["kommune_id"], unique=False)

    op.create_table(
        "deliverable",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kommune_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "annual_report",
                "questionnaire",
                name="deliverablekind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("original_due_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("extension_reason", sa.String(length=1000), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "outstanding",
                "received_on_time",
                "received_late",
                name="deliverablestatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("received_on", sa.Date(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["kommune_id"], ["kommune.id"], name=op.f("fk_deliverable_kommune_id_kommune")),
        sa.ForeignKeyConstraint(["year"], ["cycle.year"], name=op.f("fk_deliverable_year_cycle")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliverable")),
        sa.UniqueConstraint("kommune_id", "year", "kind", name=op.f("uq_deliverable_kommune_id_year_kind")),
    )
    with op.batch_alter_table("deliverable", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliverable_kommune_id"), ["kommune_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deliverable_year"), ["year"], unique=False)

    op.create_table(
        "meeting_attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("kommune_id", sa.Integer(), nullable=False),
        sa.Column("attended", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["kommune_id"], ["kommune.id"], name=op.f("fk_meeting_attendance_kommune_id_kommune")),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"], name=op.f("fk_meeting_attendance_meeting_id_meeting")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_attendance")),
        sa.UniqueConstraint("meeting_id", "kommune_id", name=op.f("uq_meeting_attendance_meeting_id_kommune_id")),
    )
    with op.batch_alter_table("meeting_attendance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_attendance_kommune_id"), ["kommune_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_meeting_attendance_meeting_id"), ["meeting_id"], unique=False)

    op.create_table(
        "application_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
            name=op.f("fk_application_revision_application_id_application"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_revision")),
        sa.UniqueConstraint("application_id", "revision", name=op.f("uq_application_revision_application_id_revision")),
    )
    with op.batch_alter_table("application_revision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_application_revision_application_id"), ["application_id"], unique=False)

    op.create_table(
        "decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("application_revision", sa.Integer(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "approved",
                "rejected",
                "changes_requested",
                name="decisionoutcome",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("granted_personnel_eur", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("granted_material_eur", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("message", sa.String(length=4000), nullable=True),
        sa.Column("decided_by", sa.String(length=200), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"], ["application.id"], name=op.f("fk_decision_application_id_application")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision")),
    )
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_application_id"), ["application_id"], unique=False)

    op.create_table(
        "meeting_invitee",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("declined", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], name=op.f("fk_meeting_invitee_contact_id_contact")),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"], name=op.f("fk_meeting_invitee_meeting_id_meeting")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_invitee")),
        sa.UniqueConstraint("meeting_id", "contact_id", name=op.f("uq_meeting_invitee_meeting_id_contact_id")),
    )
    with op.batch_alter_table("meeting_invitee", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_invitee_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_meeting_invitee_meeting_id"), ["meeting_id"], unique=False)

    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=400), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("subject_ref", sa.String(length=200), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("cc", sa.JSON(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sending",
                "sent",
                "failed",
                "unknown",
                "dismissed",
                name="outboxstatus",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("last_error", sa.String(length=2000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], name=op.f("fk_outbox_message_contact_id_contact")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_message_idempotency_key")),
    )
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_message_kind"), ["kind"], unique=False)
        batch_op.create_index("ix_outbox_message_status_next_attempt_at", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_message_subject_ref"), ["subject_ref"], unique=False)

    _create_append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()

    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_message_subject_ref"))
        batch_op.drop_index("ix_outbox_message_status_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_outbox_message_kind"))

    op.drop_table("outbox_message")
    with op.batch_alter_table("meeting_invitee", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_invitee_meeting_id"))
        batch_op.drop_index(batch_op.f("ix_meeting_invitee_contact_id"))

    op.drop_table("meeting_invitee")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_application_id"))

    op.drop_table("decision")
    with op.batch_alter_table("application_revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_revision_application_id"))

    op.drop_table("application_revision")
    with op.batch_alter_table("meeting_attendance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_attendance_meeting_id"))
        batch_op.drop_index(batch_op.f("ix_meeting_attendance_kommune_id"))

    op.drop_table("meeting_attendance")
    with op.batch_alter_table("deliverable", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deliverable_year"))
        batch_op.drop_index(batch_op.f("ix_deliverable_kommune_id"))

    op.drop_table("deliverable")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_kommune_id"))
        batch_op.drop_index(batch_op.f("ix_contact_email"))

    op.drop_table("contact")
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_kommune_id"))

    op.drop_table("application")
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_year"))

    op.drop_table("meeting")
    op.drop_table("kommune")
    with op.batch_alter_table("domain_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_domain_event_subject_id"))
        batch_op.drop_index(batch_op.f("ix_domain_event_action"))

    op.drop_table("domain_event")
    op.drop_table("cycle")


IMMUTABLE_EVENT_COLUMNS = "uuid, occurred_at, actor, action, subject_type, subject_id, year, payload"


def _create_append_only_triggers() -> None:
    """domain_event is append-only: only published_at may be set later."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"CREATE TRIGGER domain_event_no_update BEFORE UPDATE OF {IMMUTABLE_EVENT_COLUMNS} "
            "ON domain_event BEGIN SELECT RAISE(ABORT, 'domain_event is append-only'); END"
        )
        op.execute(
            "CREATE TRIGGER domain_event_no_delete BEFORE DELETE ON domain_event "
            "BEGIN SELECT RAISE(ABORT, 'domain_event is append-only'); END"
        )
        return
    op.execute(
        "CREATE FUNCTION domain_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'domain_event is append-only'; END $$"
    )
    op.execute(
        f"CREATE TRIGGER domain_event_no_update BEFORE UPDATE OF {IMMUTABLE_EVENT_COLUMNS} ON domain_event "
        "FOR EACH ROW EXECUTE FUNCTION domain_event_append_only()"
    )
    op.execute(
        "CREATE TRIGGER domain_event_no_delete BEFORE DELETE ON domain_event "
        "FOR EACH ROW EXECUTE FUNCTION domain_event_append_only()"
    )


def _drop_append_only_triggers() -> None:
    op.execute("DROP TRIGGER IF EXISTS domain_event_no_update" + ("" if _sqlite() else " ON domain_event"))
    op.execute("DROP TRIGGER IF EXISTS domain_event_no_delete" + ("" if _sqlite() else " ON domain_event"))
    if not _sqlite():
        op.execute("DROP FUNCTION IF EXISTS domain_event_append_only()")


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"
