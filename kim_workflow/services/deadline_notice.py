"""Changing a Kommune's deadline and telling the Kommune, with the updated calendar entry, in one transaction.

The notice (``deadline_changed``) carries the deadline's calendar file under the UID the reminders use
(:func:`~kim_workflow.email.keys.deadline_calendar_uid`) with SEQUENCE = the deliverables' ``due_revision`` after
the change, so a calendar replaces the old entry. It is keyed by that revision: re-running the same change
changes nothing and sends nothing twice.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from sqlmodel import Session

from kim_workflow.core.registry import display_name
from kim_workflow.email.ics import calendar_attachment, deadline_event
from kim_workflow.email.keys import (
    deadline_calendar_uid,
    deadline_changed_occasion,
    deliverable_ref,
    kommune_recipient,
)
from kim_workflow.email.kinds import MessageKind
from kim_workflow.email.mime import Attachment
from kim_workflow.email.outbox import enqueue
from kim_workflow.services.lookups import active_contacts_by_kommune, id_of, split_recipients
from kim_workflow.services.mailer import Mailer, Recipient
from kim_workflow.services.submissions import ExtensionOutcome, extend_deadline
from kim_workflow.settings import Settings


def extend_deadline_and_notify(
    session: Session,
    settings: Settings,
    *,
    ags: str,
    year: int,
    until: date,
    reason: str,
    now: datetime,
    actor: str,
) -> ExtensionOutcome:
    """Move the deadline (:func:`extend_deadline`) and queue the Kommune's notice (``notice_queued``)."""
    outcome = extend_deadline(session, ags=ags, year=year, until=until, reason=reason, now=now, actor=actor)
    if not outcome.extended or outcome.previous is None:
        return outcome
    kommune = outcome.kommune
    to, cc = split_recipients(active_contacts_by_kommune(session, [id_of(kommune)]).get(id_of(kommune), []))
    if not to:
        return outcome
    mailer = Mailer(settings)
    context = {
        "kommune_name": display_name(kommune.name, kommune.kind),
        "ags": kommune.ags,
        "cycle_year": year,
        "outstanding": list(outcome.extended),
        "previous_due_date": outcome.previous,
        "due_date": until,
        "shortened": outcome.shortened,
        "reason": reason.strip(),
        "submission_address": mailer.submission_address,
    }
    email = mailer.compose(
        MessageKind.DEADLINE_CHANGED,
        subject_ref=deliverable_ref(kommune.ags, year),
        occasion=deadline_changed_occasion(outcome.revision, until),
        to=[Recipient.of(c) for c in to],
        cc=[Recipient.of(c) for c in cc],
        key_recipient=kommune_recipient(kommune.ags),
        context=context,
        attachments=[_calendar(mailer, outcome, year, now)],
    )
    queued = enqueue(session, [email], now=now, sender_domain=mailer.sender_domain).created > 0
    return replace(outcome, notice_queued=queued)


def _calendar(mailer: Mailer, outcome: ExtensionOutcome, year: int, now: datetime) -> Attachment:
    """The same entry as the reminders' (same UID, summary and description), one SEQUENCE further."""
    labels = " und ".join(k.label_de for k in outcome.extended)
    content = deadline_event(
        uid=deadline_calendar_uid(year, outcome.kommune.ags, mailer.sender_domain),
        summary=f"Abgabefrist KIM {year}: {labels}",
        description=f"Abgabe von {labels} (Kommunales Integrationsmanagement {year}) beim MFFKI.",
        due=outcome.until,
        sequence=outcome.revision,
        dtstamp=now,
    )
    return calendar_attachment(content, MessageKind.DEADLINE_CHANGED, "abgabefrist.ics")
