"""One spec per message kind: templates, German label, context keys, calendar method, audience and sample.

A new kind is a ``MessageKind`` member, one ``MessageSpec`` below, a sample in ``email/samples.py`` and three
template files (``<template>.subject.txt``, ``<template>.txt``, ``<template>.html``) in ``templates/emails``.

Every context holds ``recipient_name`` (``str | None``) and may hold ``recipient_anrede`` (``"Frau"``/``"Herr"``)
and ``recipient_titel`` (``"Dr."``); the renderer derives ``salutation`` from them. Types of the other keys: dates
are ``datetime.date``, times are aware ``datetime`` (naive ones count as local time), amounts are ``Decimal``,
deliverables are ``DeliverableKind`` (or its value), ``meeting_type``/``organiser`` are ``MeetingType``/``Organiser``
(or their values), ``*_year``/``days_*``/``count``/``open_total`` are ``int``, texts ``str``; optional values
(``message`` of an approval, ``location``, ``video_url``, ``rsvp_by``, ``reason`` of a cancellation, ``summary``)
must be present but may be ``None`` (so must ``remark``, an early receipt's note). Lists: ``required_documents``,
``agenda``, ``changes``, ``attachment_names`` hold ``str``; ``grant_lines`` ``{label, amount}``; ``entries``
``{ags, kommune_name, outstanding, due_date, days_overdue}``; ``problems`` ``{outbox_id, kind, recipient, subject,
status, attempts, error}``; ``addresses`` ``{name, email, role, reason}`` (role as German text). ``incident`` of an
operator alert is ``"missed_sweep"`` or ``"run_failed"``; its ``run_name``, ``deployment``, ``state``, ``message``
and ``ui_url`` may be ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from kim_workflow.email import samples
from kim_workflow.email.kinds import MessageKind


class Audience(StrEnum):
    """Who may receive a kind."""

    KOMMUNE = "kommune"  # the contacts of a Kommune (integration manager, administration)
    MINISTRY = "ministry"  # the ministry's programme address
    INVITEES = "invitees"  # the invitees of a meeting
    OPERATORS = "operators"  # whoever runs kim-workflow (delivery problems)


class CalendarMethod(StrEnum):
    """The iCalendar METHOD of the calendar file a kind carries."""

    PUBLISH = "PUBLISH"
    REQUEST = "REQUEST"
    CANCEL = "CANCEL"


# Keys every kind may hold besides its required ones (the salutation of a known person).
# ``portal_link``: the recipient's personal portal link (call, reminders); ``file``: ``{name, size_text, sha256}`` of
# a report handed in through the portal (its confirmation).
OPTIONAL_CONTEXT = frozenset({"recipient_anrede", "recipient_titel", "portal_link", "file"})


@dataclass(frozen=True, slots=True)
class MessageSpec:
    """Everything about one message kind; ``required_context`` includes ``recipient_name``."""

    kind: MessageKind
    label: str
    audience: Audience
    required_context: frozenset[str]
    sample: Mapping[str, Any]
    calendar_method: CalendarMethod | None = None

    @property
    def template(self) -> str:
        """The templates' base name."""
        return self.kind.value

    @property
    def template_files(self) -> tuple[str, str, str]:
        """Subject, plain-text and HTML template file names."""
        return f"{self.template}.subject.txt", f"{self.template}.txt", f"{self.template}.html"


def _keys(*groups: frozenset[str] | set[str]) -> frozenset[str]:
    return frozenset({"recipient_name"}).union(*groups)


_APPLICATION = frozenset({"kommune_name", "funding_year"})
_DELIVERABLE = frozenset({"kommune_name", "ags", "cycle_year", "outstanding", "due_date", "submission_address"})
_MEETING_CORE = frozenset({"meeting_type", "title", "start", "end", "organiser"})
_MEETING = _MEETING_CORE | {"location", "video_url", "agenda"}

_K = MessageKind
_SPECS = (
    MessageSpec(
        _K.CALL_FOR_APPLICATIONS, "Aufruf zur Antragstellung", Audience.KOMMUNE,
        _keys(_APPLICATION, {"application_deadline", "max_personnel_amount", "max_material_amount",
                             "required_documents", "submission_address"}),
        samples.CALL_FOR_APPLICATIONS,
    ),
    MessageSpec(
        _K.APPLICATION_RECEIVED, "Eingangsbestätigung Antrag", Audience.KOMMUNE,
        _keys(_APPLICATION, {"reference", "received_on", "requested_amount", "late"}), samples.APPLICATION_RECEIVED,
    ),
    MessageSpec(
        _K.APPLICATION_REMINDER, "Erinnerung Antragsfrist", Audience.KOMMUNE,
        _keys(_APPLICATION, {"application_deadline", "days_remaining", "submission_address"}),
        samples.APPLICATION_REMINDER,
    ),
    MessageSpec(
        _K.DECISION_APPROVED, "Förderentscheidung: Bewilligung", Audience.KOMMUNE,
        _keys(_APPLICATION, {"reference", "grant_lines", "granted_total", "funding_period_start",
                             "funding_period_end", "vacancies", "pro_rata_total", "pro_rata_share", "message"}),
        samples.DECISION_APPROVED,
    ),
    MessageSpec(
        _K.DECISION_REJECTED, "Förderentscheidung: Ablehnung", Audience.KOMMUNE,
        _keys(_APPLICATION, {"reference", "reason"}), samples.DECISION_REJECTED,
    ),
    MessageSpec(
        _K.DECISION_CHANGES_REQUESTED, "Nachforderung zum Antrag", Audience.KOMMUNE,
        _keys(_APPLICATION, {"reference", "message", "resubmit_by", "submission_address"}),
        samples.DECISION_CHANGES_REQUESTED,
    ),
    MessageSpec(
        _K.DELIVERABLE_REMINDER, "Erinnerung Jahresbericht/Fragebogen", Audience.KOMMUNE,
        _keys(_DELIVERABLE, {"days_remaining", "workbook_attached"}), samples.DELIVERABLE_REMINDER,
        CalendarMethod.PUBLISH,
    ),
    MessageSpec(
        _K.OVERDUE_NOTICE, "Fristüberschreitung Jahresbericht/Fragebogen", Audience.KOMMUNE,
        _keys(_DELIVERABLE, {"days_overdue", "respond_by", "workbook_attached"}), samples.OVERDUE_NOTICE,
    ),
    MessageSpec(
        _K.ESCALATION_DIGEST, "Übersicht ausstehender Unterlagen (Ministerium)", Audience.MINISTRY,
        _keys({"cycle_year", "as_of", "entries"}), samples.ESCALATION_DIGEST,
    ),
    MessageSpec(
        _K.SUBMISSION_CONFIRMATION, "Eingangsbestätigung Unterlagen", Audience.KOMMUNE,
        _keys({"kommune_name", "cycle_year", "deliverable", "received_on", "on_time", "still_outstanding",
               "due_date", "remark"}),
        samples.SUBMISSION_CONFIRMATION,
    ),
    MessageSpec(
        _K.DEADLINE_CHANGED, "Friständerung Jahresbericht/Fragebogen", Audience.KOMMUNE,
        _keys(_DELIVERABLE, {"previous_due_date", "shortened", "reason"}), samples.DEADLINE_CHANGED,
        CalendarMethod.PUBLISH,
    ),
    MessageSpec(
        _K.MEETING_INVITATION, "Einladung zu einem Termin", Audience.INVITEES,
        _keys(_MEETING, {"rsvp_by"}), samples.MEETING_INVITATION, CalendarMethod.REQUEST,
    ),
    MessageSpec(
        _K.MEETING_UPDATE, "Terminänderung", Audience.INVITEES,
        _keys(_MEETING, {"changes"}), samples.MEETING_UPDATE, CalendarMethod.REQUEST,
    ),
    MessageSpec(
        _K.MEETING_CANCELLATION, "Terminabsage", Audience.INVITEES,
        _keys(_MEETING_CORE, {"reason"}), samples.MEETING_CANCELLATION, CalendarMethod.CANCEL,
    ),
    MessageSpec(
        _K.MEETING_REMINDER, "Terminerinnerung", Audience.INVITEES,
        _keys(_MEETING, {"days_until"}), samples.MEETING_REMINDER,
    ),
    MessageSpec(
        _K.MEETING_MINUTES, "Protokoll eines Termins", Audience.INVITEES,
        _keys(_MEETING_CORE, {"summary", "attachment_names"}), samples.MEETING_MINUTES,
    ),
    MessageSpec(
        _K.DELIVERY_FAILED, "Zustellprobleme (Betrieb)", Audience.OPERATORS,
        _keys({"problems", "count", "open_total", "reported_at"}), samples.DELIVERY_FAILED,
    ),
    MessageSpec(
        _K.KOMMUNE_UNREACHABLE, "Kommune nicht erreichbar (Ministerium)", Audience.MINISTRY,
        _keys({"kommune_name", "ags", "addresses", "failed_subject", "reported_at"}), samples.KOMMUNE_UNREACHABLE,
    ),
    MessageSpec(
        _K.GRANT_AMENDED, "Änderungsbescheid: neue Förderbeträge", Audience.KOMMUNE,
        _keys(_APPLICATION, {"reference", "old_lines", "old_total", "new_lines", "new_total", "funding_period",
                             "pro_rata_total", "reason"}),
        samples.GRANT_AMENDED,
    ),
    MessageSpec(
        _K.GRANT_REVOKED, "Widerrufsbescheid: Förderung widerrufen", Audience.KOMMUNE,
        _keys(_APPLICATION, {"reference", "old_lines", "old_total", "funding_period", "effective_on",
                             "funded_until", "remaining_total", "reason"}),
        samples.GRANT_REVOKED,
    ),
    MessageSpec(
        _K.PORTAL_LINK, "Neuer Zugang zum KIM-Portal", Audience.KOMMUNE,
        _keys({"kommune_name", "cycle_year", "portal_link", "valid_until"}), samples.PORTAL_LINK,
    ),
    MessageSpec(
        _K.OPERATOR_ALERT, "Betriebswarnung (Betrieb)", Audience.OPERATORS,
        _keys({"incident", "run_name", "deployment", "state", "message", "detected_at", "ui_url"}),
        samples.OPERATOR_ALERT,
    ),
)  # fmt: skip

SPECS: Mapping[MessageKind, MessageSpec] = {spec.kind: spec for spec in _SPECS}


def spec_of(kind: MessageKind | str) -> MessageSpec:
    """The spec of ``kind`` (a member or its value)."""
    return SPECS[MessageKind(kind)]


def kind_label(kind: MessageKind | str) -> str:
    """The German label of a message kind."""
    return spec_of(kind).label


def calendar_method(kind: MessageKind | str) -> CalendarMethod:
    """The METHOD of the calendar file ``kind`` carries; ``ValueError`` for a kind that carries none."""
    method = spec_of(kind).calendar_method
    if method is None:
        raise ValueError(f"{kind}: diese Nachrichtenart trägt keine Kalenderdatei")
    return method


def meeting_method(kind: MessageKind | str) -> Literal["REQUEST", "CANCEL"]:
    """The METHOD of a meeting kind's calendar file, typed for :func:`kim_workflow.email.ics.meeting_event`."""
    method = calendar_method(kind)
    if method is CalendarMethod.PUBLISH:
        raise ValueError(f"{kind}: keine Termin-Nachricht")
    return "CANCEL" if method is CalendarMethod.CANCEL else "REQUEST"


def sample_recipient(kind: MessageKind | str) -> str:
    """A fictitious address of the kind's audience, for previews."""
    ministry = spec_of(kind).audience in (Audience.MINISTRY, Audience.OPERATORS)
    return samples.MINISTRY_ADDRESS if ministry else samples.KOMMUNE_ADDRESS
