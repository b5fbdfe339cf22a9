"""The SQLModel tables of the whole domain. The schema itself is created only by Alembic migrations."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Column, Field, SQLModel

from kim_workflow.core.domain import (
    ApplicationStatus,
    ContactRole,
    CycleStatus,
    DecisionOutcome,
    DeliverableKind,
    DeliverableStatus,
    GrantActKind,
    GrantActState,
    KommuneKind,
    MeetingStatus,
    MeetingType,
    Organiser,
    OutboxStatus,
)
from kim_workflow.core.questionnaire import AnswerSource, AnswerStatus
from kim_workflow.db.types import Fte, Money, UTCDateTime

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _enum(enum: type[Any]) -> sa.Enum:
    """Enums stored as their values in a VARCHAR with a named CHECK constraint (portable, migratable)."""
    return sa.Enum(
        enum,
        values_callable=lambda e: [m.value for m in e],
        native_enum=False,
        create_constraint=True,
        length=32,
        name=enum.__name__.lower(),
        validate_strings=True,
    )


def _ts(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


class Kommune(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ags: str = Field(sa_column=Column(sa.String(8), nullable=False, unique=True))
    name: str = Field(max_length=200)
    kind: KommuneKind = Field(sa_column=Column(_enum(KommuneKind), nullable=False))
    active: bool = True


class Contact(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("kommune_id", "email", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    kommune_id: int | None = Field(default=None, foreign_key="kommune.id", index=True)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320, index=True)
    role: ContactRole = Field(sa_column=Column(_enum(ContactRole), nullable=False))
    anrede: str | None = Field(default=None, max_length=10)  # "Frau", "Herr" or unknown
    titel: str | None = Field(default=None, max_length=50)  # e.g. "Dr.", "Prof. Dr."
    active: bool = True
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)
    # set when a mail server refused the address for good; cleared by an import or an edit of the contact
    undeliverable_at: datetime | None = _ts()
    undeliverable_reason: str | None = Field(default=None, max_length=2000)


class Cycle(SQLModel, table=True):
    """A funding year (Förderjahr) with the policy it runs under (a snapshot, as JSON)."""

    id: int | None = Field(default=None, primary_key=True)
    year: int = Field(sa_column=Column(sa.Integer, nullable=False, unique=True))
    status: CycleStatus = Field(sa_column=Column(_enum(CycleStatus), nullable=False))
    policy: dict[str, Any] = Field(default_factory=dict, sa_column=Column(sa.JSON, nullable=False))
    opened_at: datetime = _ts(nullable=False)


class Application(SQLModel, table=True):
    """The current application of a Kommune for a year; earlier versions live in ``application_revision``."""

    __table_args__ = (sa.UniqueConstraint("kommune_id", "year"),)

    id: int | None = Field(default=None, primary_key=True)
    kommune_id: int = Field(foreign_key="kommune.id", index=True)
    year: int = Field(foreign_key="cycle.year")
    status: ApplicationStatus = Field(sa_column=Column(_enum(ApplicationStatus), nullable=False))
    revision: int = 1
    staff: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(sa.JSON, nullable=False))
    fte_total: Decimal = Field(sa_column=Column(Fte, nullable=False))
    personnel_costs_eur: Decimal = Field(sa_column=Column(Money, nullable=False))
    material_costs_eur: Decimal = Field(sa_column=Column(Money, nullable=False))
    overhead_costs_eur: Decimal = Field(sa_column=Column(Money, nullable=False))
    position_in_administration: bool
    notes: str | None = Field(default=None, max_length=4000)
    submitted_at: datetime | None = _ts()
    updated_at: datetime = _ts(nullable=False)
    decision_run_id: str | None = Field(default=None, max_length=64)  # the Prefect run waiting for the decision
    late: bool = Field(default=False, sa_column=Column(sa.Boolean, nullable=False, server_default=sa.false()))
    """First submitted after the application deadline, accepted by policy (``late_applications``) as "verspätet"."""
    # the funded period of the position within the year (None: from 1 January / to 31 December), and its vacancies
    period_start: date | None = None
    period_end: date | None = None
    vacancies: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(sa.JSON, nullable=False, server_default=sa.text("'[]'"))
    )
    """Vacancy periods (unbesetzt) as ``[{"from": "2026-05-01", "to": "2026-06-30"}]``, ISO dates, sorted."""


class ApplicationRevision(SQLModel, table=True):
    """An application as it was submitted once (kept when a resubmission replaces it)."""

    __tablename__ = "application_revision"
    __table_args__ = (sa.UniqueConstraint("application_id", "revision"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    revision: int
    content: dict[str, Any] = Field(sa_column=Column(sa.JSON, nullable=False))
    submitted_at: datetime = _ts(nullable=False)


class Decision(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    application_revision: int
    outcome: DecisionOutcome = Field(sa_column=Column(_enum(DecisionOutcome), nullable=False))
    granted_personnel_eur: Decimal | None = Field(default=None, sa_column=Column(Money, nullable=True))
    granted_material_eur: Decimal | None = Field(default=None, sa_column=Column(Money, nullable=True))
    message: str | None = Field(default=None, max_length=4000)
    decided_by: str = Field(max_length=200)
    decided_at: datetime = _ts(nullable=False)


class GrantDecision(SQLModel, table=True):
    """An approval, amendment (Änderungsbescheid) or revocation (Widerrufsbescheid) and its four-eyes state.

    The current grant of an application is its latest confirmed approval or amendment, ended by a confirmed
    revocation (``core/grants.current_grant``). A confirmed approval also has its ``decision`` row.
    """

    __tablename__ = "grant_decision"
    __table_args__ = (  # at most one decision per application waits for the second person
        sa.Index(
            "uq_grant_decision_one_pending", "application_id", unique=True,
            sqlite_where=sa.text("state = 'pending'"), postgresql_where=sa.text("state = 'pending'"),
        ),
    )  # fmt: skip

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    application_revision: int
    kind: GrantActKind = Field(sa_column=Column(_enum(GrantActKind), nullable=False))
    state: GrantActState = Field(sa_column=Column(_enum(GrantActState), nullable=False))
    granted_personnel_eur: Decimal | None = Field(default=None, sa_column=Column(Money, nullable=True))
    granted_material_eur: Decimal | None = Field(default=None, sa_column=Column(Money, nullable=True))
    effective_on: date | None = None  # a revocation: the day from which the grant no longer applies
    reason: str | None = Field(default=None, max_length=4000)  # amendment/revocation; an approval's message
    budget_override_reason: str | None = Field(default=None, max_length=1000)
    requested_by: str = Field(max_length=200)
    requested_at: datetime = _ts(nullable=False)
    reviewed_by: str | None = Field(default=None, max_length=200)  # the second person (confirmed or rejected)
    reviewed_at: datetime | None = _ts()
    review_reason: str | None = Field(default=None, max_length=1000)  # why the second person rejected it
    decision_id: int | None = Field(default=None, foreign_key="decision.id")


class Deliverable(SQLModel, table=True):
    """Annual report or questionnaire of one Kommune for one year."""

    __table_args__ = (sa.UniqueConstraint("kommune_id", "year", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    kommune_id: int = Field(foreign_key="kommune.id", index=True)
    year: int = Field(foreign_key="cycle.year", index=True)
    kind: DeliverableKind = Field(sa_column=Column(_enum(DeliverableKind), nullable=False))
    original_due_date: date
    due_date: date
    due_revision: int = 0  # increases with every extension: the SEQUENCE of the deadline's calendar entry
    extension_reason: str | None = Field(default=None, max_length=1000)
    status: DeliverableStatus = Field(sa_column=Column(_enum(DeliverableStatus), nullable=False))
    received_on: date | None = None
    recorded_at: datetime | None = _ts()
    recorded_by: str | None = Field(default=None, max_length=200)
    waived_reason: str | None = Field(default=None, max_length=200)  # status "waived": e.g. "Antrag abgelehnt am …"
    waived_at: datetime | None = _ts()


class Meeting(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(sa_column=Column(sa.String(200), nullable=False, unique=True))
    year: int = Field(index=True)
    type: MeetingType = Field(sa_column=Column(_enum(MeetingType), nullable=False))
    title: str = Field(max_length=300)
    starts_at: datetime = _ts(nullable=False)
    ends_at: datetime = _ts(nullable=False)
    location: str | None = Field(default=None, max_length=500)
    video_link: str | None = Field(default=None, max_length=1000)
    agenda: str | None = Field(default=None, max_length=10000)
    organiser: Organiser = Field(sa_column=Column(_enum(Organiser), nullable=False))
    status: MeetingStatus = Field(sa_column=Column(_enum(MeetingStatus), nullable=False))
    sequence: int = 0
    series_key: str | None = Field(default=None, max_length=100)
    minutes_ref: str | None = Field(default=None, max_length=1000)
    cancel_reason: str | None = Field(default=None, max_length=1000)
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime | None = _ts()


class MeetingInvitee(SQLModel, table=True):
    """Who is invited to a meeting, whether they declined, and (per Kommune) whether it attended."""

    __tablename__ = "meeting_invitee"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "contact_id"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    declined: bool = False


class MeetingAttendance(SQLModel, table=True):
    __tablename__ = "meeting_attendance"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "kommune_id"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    kommune_id: int = Field(foreign_key="kommune.id", index=True)
    attended: bool
    recorded_at: datetime = _ts(nullable=False)
    recorded_by: str = Field(max_length=200)


class OutboxMessage(SQLModel, table=True):
    """One email, fully rendered and keyed before anything is sent."""

    __tablename__ = "outbox_message"
    __table_args__ = (sa.Index("ix_outbox_message_status_next_attempt_at", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(sa_column=Column(sa.String(400), nullable=False, unique=True))
    kind: str = Field(max_length=64, index=True)
    subject_ref: str = Field(max_length=200, index=True)
    recipient: str = Field(max_length=320)
    cc: list[str] = Field(default_factory=list, sa_column=Column(sa.JSON, nullable=False))
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    subject: str = Field(max_length=500)
    text_body: str = Field(sa_column=Column(sa.Text, nullable=False))
    html_body: str = Field(sa_column=Column(sa.Text, nullable=False))
    attachments: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(sa.JSON, nullable=False))
    message_id: str = Field(max_length=300)
    status: OutboxStatus = Field(sa_column=Column(_enum(OutboxStatus), nullable=False, index=False))
    attempts: int = 0
    next_attempt_at: datetime = _ts(nullable=False)
    claimed_at: datetime | None = _ts()
    claimed_by: str | None = Field(default=None, max_length=100)
    last_error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = _ts(nullable=False)
    sent_at: datetime | None = _ts()
    problem_reported_at: datetime | None = _ts()  # the ministry's delivery_failed notice covered this row


class DomainEvent(SQLModel, table=True):
    """Append-only log of every state change (database triggers refuse UPDATE and DELETE).

    The payload never holds raw email addresses; refer to contacts by id. ``uuid`` is the id of the Prefect
    event that mirrors the row, so publishing twice is harmless.
    """

    __tablename__ = "domain_event"

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(sa_column=Column(sa.String(36), nullable=False, unique=True))
    occurred_at: datetime = _ts(nullable=False)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=100, index=True)
    subject_type: str = Field(max_length=50)
    subject_id: str = Field(max_length=100, index=True)
    year: int | None = None
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(sa.JSON, nullable=False))
    published_at: datetime | None = _ts()


class ReminderLog(SQLModel, table=True):
    """Which ladder stage was planned for whom and for which due date; the unique key makes planning idempotent.

    ``scope`` is what the ladder is about (``deliverable``, ``escalation``, ``application``, ``meeting``),
    ``ref`` whom it concerns (an AGS, ``ministry``, ``meeting:<id>:contact:<id>``).
    """

    __tablename__ = "reminder_log"
    __table_args__ = (sa.UniqueConstraint("scope", "ref", "year", "stage", "due_date"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=32)
    ref: str = Field(max_length=100)
    year: int = Field(index=True)
    stage: str = Field(max_length=32)
    due_date: date
    planned_for: date
    created_at: datetime = _ts(nullable=False)


class PortalToken(SQLModel, table=True):
    """A personal portal link of one contact for one year; only its SHA-256 is stored.

    ``issued_for`` is the outbox key of the email that carries the link (or a request's id): one link per email,
    so a re-run that queues nothing new mints nothing either.
    """

    __tablename__ = "portal_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_column=Column(sa.String(64), nullable=False, unique=True))
    issued_for: str = Field(sa_column=Column(sa.String(400), nullable=False, unique=True))
    contact_id: int = Field(foreign_key="contact.id", index=True)
    kommune_id: int = Field(foreign_key="kommune.id", index=True)
    year: int
    created_at: datetime = _ts(nullable=False)
    expires_at: datetime = _ts(nullable=False)
    revoked_at: datetime | None = _ts()
    last_used_at: datetime | None = _ts()


class PortalSession(SQLModel, table=True):
    """A signed-in browser: a Kommune's contact (opened by a link) or a ministry account; the cookie's SHA-256."""

    __tablename__ = "portal_session"

    id: int | None = Field(default=None, primary_key=True)
    session_hash: str = Field(sa_column=Column(sa.String(64), nullable=False, unique=True))
    contact_id: int | None = Field(default=None, foreign_key="contact.id")
    kommune_id: int | None = Field(default=None, foreign_key="kommune.id")
    year: int | None = None
    account_id: int | None = Field(default=None, foreign_key="portal_account.id")
    created_at: datetime = _ts(nullable=False)
    expires_at: datetime = _ts(nullable=False)
    ended_at: datetime | None = _ts()


class PortalAccount(SQLModel, table=True):
    """A ministry user of the portal; the password only as an argon2 hash."""

    __tablename__ = "portal_account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(sa_column=Column(sa.String(200), nullable=False, unique=True))
    display_name: str = Field(max_length=200)
    password_hash: str = Field(max_length=300)
    active: bool = True
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)


class PortalUpload(SQLModel, table=True):
    """A file a Kommune uploaded for a deliverable; stored under ``uploads/<year>/<ags>/<stored_name>``."""

    __tablename__ = "portal_upload"

    id: int | None = Field(default=None, primary_key=True)
    kommune_id: int = Field(foreign_key="kommune.id", index=True)
    year: int = Field(index=True)
    kind: DeliverableKind = Field(sa_column=Column(_enum(DeliverableKind), nullable=False))
    stored_name: str = Field(max_length=100)
    original_name: str = Field(max_length=255)
    content_type: str = Field(max_length=100)
    size: int = Field(sa_column=Column(sa.BigInteger, nullable=False))
    sha256: str = Field(max_length=64)
    uploaded_by: int | None = Field(default=None, foreign_key="contact.id")
    uploaded_at: datetime = _ts(nullable=False)
    replaced_at: datetime | None = _ts()
    submitted_at: datetime | None = _ts()


class PortalAttempt(SQLModel, table=True):
    """A failed link or login attempt, for the rate limit; ``bucket`` is a hash, never an address or a token."""

    __tablename__ = "portal_attempt"
    __table_args__ = (sa.Index("ix_portal_attempt_bucket_at", "bucket", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    bucket: str = Field(max_length=100)
    at: datetime = _ts(nullable=False)


class QuestionnaireAnswers(SQLModel, table=True):
    """A Kommune's current answers to the year's Fragebogen (typed values in JSON, see
    ``core/questionnaire_answers.answers_to_json``); every submitted version is kept in
    ``questionnaire_answers_revision``."""

    __tablename__ = "questionnaire_answers"
    __table_args__ = (sa.UniqueConstraint("kommune_id", "year"),)

    id: int | None = Field(default=None, primary_key=True)
    kommune_id: int = Field(foreign_key="kommune.id", index=True)
    year: int = Field(foreign_key="cycle.year", index=True)
    status: AnswerStatus = Field(sa_column=Column(_enum(AnswerStatus), nullable=False))
    questionnaire_version: str = Field(max_length=32)
    """The version of the questionnaire the answers were given against."""
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(sa.JSON, nullable=False))
    revision: int = 0
    """0 while a draft; 1 when submitted; each correction adds one."""
    updated_at: datetime = _ts(nullable=False)
    updated_by: str = Field(max_length=200)
    submitted_at: datetime | None = _ts()
    submitted_by: str | None = Field(default=None, max_length=200)


class QuestionnaireAnswersRevision(SQLModel, table=True):
    """The answers as submitted (revision 1) or corrected (2, 3 …, with the reason and the person)."""

    __tablename__ = "questionnaire_answers_revision"
    __table_args__ = (sa.UniqueConstraint("answers_id", "revision"),)

    id: int | None = Field(default=None, primary_key=True)
    answers_id: int = Field(foreign_key="questionnaire_answers.id", index=True)
    revision: int
    questionnaire_version: str = Field(max_length=32)
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(sa.JSON, nullable=False))
    source: AnswerSource = Field(sa_column=Column(_enum(AnswerSource), nullable=False))
    reason: str | None = Field(default=None, max_length=1000)
    created_at: datetime = _ts(nullable=False)
    created_by: str = Field(max_length=200)


class QuestionnaireImport(SQLModel, table=True):
    """A workbook file imported once (by its SHA-256): importing the same file again changes nothing."""

    __tablename__ = "questionnaire_import"

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(sa_column=Column(sa.String(64), nullable=False, unique=True))
    file_name: str = Field(max_length=255)
    kommune_id: int = Field(foreign_key="kommune.id", index=True)
    year: int
    revision: int
    imported_at: datetime = _ts(nullable=False)
    imported_by: str = Field(max_length=200)
