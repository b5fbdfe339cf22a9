"""The kinds of email kim-workflow sends, their templates and the context each template needs.

Every context holds ``recipient_name`` (``str | None``) and may hold ``recipient_anrede`` (``"Frau"``/``"Herr"``)
and ``recipient_titel`` (``"Dr."``); the renderer derives ``salutation`` from them. Types of the
other keys: dates are ``datetime.date``, times are aware ``datetime`` (naive ones count as local time), amounts are
``Decimal``, deliverables are ``DeliverableKind`` (or its value), ``meeting_type``/``organiser`` are ``MeetingType``/
``Organiser`` (or their values). Keys marked ``| None`` must be present but may be ``None``.

- call_for_applications: kommune_name, funding_year: int, application_deadline, max_personnel_amount,
  max_material_amount, required_documents: Sequence[str], submission_address: str
- application_received: kommune_name, funding_year, reference: str, received_on, requested_amount
- application_reminder: kommune_name, funding_year, application_deadline, days_remaining: int, submission_address
- decision_approved: kommune_name, funding_year, reference, grant_lines: Sequence[{label: str, amount}],
  granted_total, funding_period_start, funding_period_end, message: str | None
- decision_rejected: kommune_name, funding_year, reference, reason: str
- decision_changes_requested: kommune_name, funding_year, reference, message: str, resubmit_by, submission_address
- deliverable_reminder: kommune_name, ags, cycle_year: int, outstanding: Sequence[deliverable], due_date,
  days_remaining: int, submission_address
- overdue_notice: kommune_name, ags, cycle_year, outstanding, due_date, days_overdue: int, respond_by,
  submission_address
- escalation_digest: cycle_year, as_of, entries: Sequence[{ags, kommune_name, outstanding, due_date, days_overdue}]
- submission_confirmation: kommune_name, cycle_year, deliverable, received_on, on_time: bool,
  still_outstanding: Sequence[deliverable], due_date
- meeting_invitation: MEETING keys (meeting_type, title, start, end, location: str | None, video_url: str | None,
  agenda: Sequence[str], organiser) + rsvp_by: date | None
- meeting_update: MEETING keys + changes: Sequence[str] (what changed, may be empty)
- meeting_cancellation: meeting_type, title, start, end, organiser, reason: str | None
- meeting_reminder: MEETING keys + days_until: int
- meeting_minutes: meeting_type, title, start, end, organiser, summary: str | None, attachment_names: Sequence[str]
- delivery_failed: problems: Sequence[{outbox_id, kind: MessageKind, recipient, subject, status: str (German),
  attempts: int, error: str}], count: int (all new problems, ``problems`` may list fewer), open_total: int,
  reported_at: datetime
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class MessageKind(StrEnum):
    CALL_FOR_APPLICATIONS = "call_for_applications"
    APPLICATION_RECEIVED = "application_received"
    APPLICATION_REMINDER = "application_reminder"
    DECISION_APPROVED = "decision_approved"
    DECISION_REJECTED = "decision_rejected"
    DECISION_CHANGES_REQUESTED = "decision_changes_requested"
    DELIVERABLE_REMINDER = "deliverable_reminder"
    OVERDUE_NOTICE = "overdue_notice"
    ESCALATION_DIGEST = "escalation_digest"
    SUBMISSION_CONFIRMATION = "submission_confirmation"
    MEETING_INVITATION = "meeting_invitation"
    MEETING_UPDATE = "meeting_update"
    MEETING_CANCELLATION = "meeting_cancellation"
    MEETING_REMINDER = "meeting_reminder"
    MEETING_MINUTES = "meeting_minutes"
    DELIVERY_FAILED = "delivery_failed"  # operator digest to the ministry: emails failed or became unknown


# Template base name per kind: ``<name>.subject.txt``, ``<name>.txt`` and ``<name>.html`` in the templates dir.
TEMPLATES: Mapping[MessageKind, str] = {kind: kind.value for kind in MessageKind}

_COMMON = frozenset({"recipient_name"})
# Keys every kind may hold besides its required ones (the salutation of a known person).
OPTIONAL_CONTEXT = frozenset({"recipient_anrede", "recipient_titel"})
_APPLICATION = _COMMON | {"kommune_name", "funding_year"}
_DELIVERABLE = _COMMON | {"kommune_name", "ags", "cycle_year", "outstanding", "due_date", "submission_address"}
_MEETING_CORE = _COMMON | {"meeting_type", "title", "start", "end", "organiser"}
_MEETING = _MEETING_CORE | {"location", "video_url", "agenda"}

REQUIRED_CONTEXT: Mapping[MessageKind, frozenset[str]] = {
    MessageKind.CALL_FOR_APPLICATIONS: _APPLICATION
    | {"application_deadline", "max_personnel_amount", "max_material_amount", "required_documents"}
    | {"submission_address"},
    MessageKind.APPLICATION_RECEIVED: _APPLICATION | {"reference", "received_on", "requested_amount"},
    MessageKind.APPLICATION_REMINDER: _APPLICATION | {"application_deadline", "days_remaining", "submission_address"},
    MessageKind.DECISION_APPROVED: _APPLICATION
    | {"reference", "grant_lines", "granted_total", "funding_period_start", "funding_period_end", "message"},
    MessageKind.DECISION_REJECTED: _APPLICATION | {"reference", "reason"},
    MessageKind.DECISION_CHANGES_REQUESTED: _APPLICATION
    | {"reference", "message", "resubmit_by", "submission_address"},
    MessageKind.DELIVERABLE_REMINDER: _DELIVERABLE | {"days_remaining"},
    MessageKind.OVERDUE_NOTICE: _DELIVERABLE | {"days_overdue", "respond_by"},
    MessageKind.ESCALATION_DIGEST: _COMMON | {"cycle_year", "as_of", "entries"},
    MessageKind.SUBMISSION_CONFIRMATION: _COMMON
    | {"kommune_name", "cycle_year", "deliverable", "received_on", "on_time", "still_outstanding", "due_date"},
    MessageKind.MEETING_INVITATION: _MEETING | {"rsvp_by"},
    MessageKind.MEETING_UPDATE: _MEETING | {"changes"},
    MessageKind.MEETING_CANCELLATION: _MEETING_CORE | {"reason"},
    MessageKind.MEETING_REMINDER: _MEETING | {"days_until"},
    MessageKind.MEETING_MINUTES: _MEETING_CORE | {"summary", "attachment_names"},
    MessageKind.DELIVERY_FAILED: _COMMON | {"problems", "count", "open_total", "reported_at"},
}

# German label per kind, e.g. for the index of previews and the delivery-failure notice.
KIND_LABELS: Mapping[MessageKind, str] = {
    MessageKind.CALL_FOR_APPLICATIONS: "Aufruf zur Antragstellung",
    MessageKind.APPLICATION_RECEIVED: "Eingangsbestätigung Antrag",
    MessageKind.APPLICATION_REMINDER: "Erinnerung Antragsfrist",
    MessageKind.DECISION_APPROVED: "Förderentscheidung: Bewilligung",
    MessageKind.DECISION_REJECTED: "Förderentscheidung: Ablehnung",
    MessageKind.DECISION_CHANGES_REQUESTED: "Nachforderung zum Antrag",
    MessageKind.DELIVERABLE_REMINDER: "Erinnerung Jahresbericht/Fragebogen",
    MessageKind.OVERDUE_NOTICE: "Fristüberschreitung Jahresbericht/Fragebogen",
    MessageKind.ESCALATION_DIGEST: "Übersicht ausstehender Unterlagen (Ministerium)",
    MessageKind.SUBMISSION_CONFIRMATION: "Eingangsbestätigung Unterlagen",
    MessageKind.MEETING_INVITATION: "Einladung zu einem Termin",
    MessageKind.MEETING_UPDATE: "Terminänderung",
    MessageKind.MEETING_CANCELLATION: "Terminabsage",
    MessageKind.MEETING_REMINDER: "Terminerinnerung",
    MessageKind.MEETING_MINUTES: "Protokoll eines Termins",
    MessageKind.DELIVERY_FAILED: "Zustellprobleme (Betrieb)",
}

# iCalendar METHOD of the calendar file a kind carries; kinds not listed carry none.
CALENDAR_METHODS: Mapping[MessageKind, str] = {
    MessageKind.DELIVERABLE_REMINDER: "PUBLISH",
    MessageKind.MEETING_INVITATION: "REQUEST",
    MessageKind.MEETING_UPDATE: "REQUEST",
    MessageKind.MEETING_CANCELLATION: "CANCEL",
}
