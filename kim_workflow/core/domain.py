"""Domain vocabulary shared by every layer: plain enums, no behaviour beyond labels."""

from __future__ import annotations

from enum import StrEnum


class KommuneKind(StrEnum):
    """A funded Kommune is either a Landkreis or a kreisfreie Stadt."""

    LANDKREIS = "Landkreis"
    KREISFREIE_STADT = "kreisfreie Stadt"


class ContactRole(StrEnum):
    """What a contact is for. Kommune roles need an AGS; ministry and DBKI contacts have none."""

    INTEGRATION_MANAGER = "integration_manager"
    DEPUTY = "deputy"
    ROLE_MAILBOX = "role_mailbox"
    MINISTRY = "ministry"
    DBKI = "dbki"

    @property
    def needs_kommune(self) -> bool:
        return self in KOMMUNE_ROLES


KOMMUNE_ROLES = frozenset({ContactRole.INTEGRATION_MANAGER, ContactRole.DEPUTY, ContactRole.ROLE_MAILBOX})


class CycleStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class DeliverableKind(StrEnum):
    ANNUAL_REPORT = "annual_report"
    QUESTIONNAIRE = "questionnaire"

    @property
    def label_de(self) -> str:
        return {"annual_report": "Jahresbericht", "questionnaire": "Fragebogen"}[self.value]


class DeliverableStatus(StrEnum):
    """Stored status; "overdue" is derived from the due date and today, never stored."""

    OUTSTANDING = "outstanding"
    RECEIVED_ON_TIME = "received_on_time"
    RECEIVED_LATE = "received_late"
    WAIVED = "waived"  # "entfällt": the application was rejected or withdrawn (the reason is stored)


class ApplicationStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    CHANGES_REQUESTED = "changes_requested"
    WITHDRAWN = "withdrawn"  # the Kommune withdrew it before a decision (final; waives the year's reports)
    REVOKED = "revoked"  # the grant was revoked (Widerrufsbescheid; final; waives the outstanding reports)


class DecisionOutcome(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    CHANGES_REQUESTED = "changes_requested"


class GrantActKind(StrEnum):
    """A decision that sets or ends a grant: the approval, an amendment (Änderungsbescheid), a revocation."""

    APPROVAL = "approval"
    AMENDMENT = "amendment"
    REVOCATION = "revocation"


class GrantActState(StrEnum):
    """Four eyes: a grant decision takes effect only once a second person confirmed it."""

    PENDING = "pending"  # "wartet auf Bestätigung"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"  # the second person refused it; it never took effect


class MeetingType(StrEnum):
    VERNETZUNGSTREFFEN = "vernetzungstreffen"
    ARBEITSTREFFEN = "arbeitstreffen"
    FACHVERANSTALTUNG = "fachveranstaltung"
    OTHER = "other"


class Organiser(StrEnum):
    FACHREFERAT = "fachreferat"
    DBKI = "dbki"


class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class OutboxStatus(StrEnum):
    """An outbox row's status; which event leads from which status to which: :mod:`kim_workflow.core.outbox_states`."""

    PENDING = "pending"
    CLAIMED = "claimed"  # taken by a dispatcher, not yet handed to the SMTP server: safe to release after a crash
    SENDING = "sending"  # handed to the SMTP server, outcome not yet recorded: ``unknown`` after a crash
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"
    DISMISSED = "dismissed"
