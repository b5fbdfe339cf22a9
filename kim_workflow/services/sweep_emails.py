"""The emails of the daily sweep: a Kommune's reminder or overdue notice, and the ministry's escalation digest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from kim_workflow.core.calendar import next_working_day
from kim_workflow.core.domain import DeliverableKind
from kim_workflow.core.registry import display_name
from kim_workflow.core.reminders import EscalationDigest, PlannedReminder, StageKind
from kim_workflow.email.ics import calendar_attachment, deadline_event
from kim_workflow.email.keys import (
    deadline_calendar_uid,
    deliverable_ref,
    due_dates_occasion,
    kommune_recipient,
    stage_occasion,
    year_ref,
)
from kim_workflow.email.kinds import MessageKind
from kim_workflow.email.mime import Attachment
from kim_workflow.email.outbox import NewEmail
from kim_workflow.services.lookups import no_contact_note, split_recipients
from kim_workflow.services.mailer import Mailer, Recipient
from kim_workflow.services.portal_links import LinkMinter
from kim_workflow.services.sweep_state import KommuneRow, YearState

PER_KOMMUNE = ("kommune_name", "ags", "portal_link")
"""What differs between two Kommunen's reminders of one day (besides the recipient): spliced into one rendering."""


@dataclass(frozen=True)
class ReminderComposer:
    mailer: Mailer
    year: int
    today: date
    now: datetime
    state: YearState
    links: LinkMinter | None = None
    """Mints the primary recipient's portal link into each reminder (stored by the caller with the emails)."""
    workbook: Callable[[KommuneRow], Attachment] | None = None
    """Set with ``[report] attach_questionnaire_workbook``: the Kommune's Fragebogen workbook while it is owed."""

    def reminder(self, reminder: PlannedReminder) -> NewEmail:
        kommune = self.state.kommunen[reminder.ags]
        to, cc = split_recipients(self.state.contacts[kommune.id])
        context: dict[str, Any] = {
            "kommune_name": display_name(kommune.name, kommune.kind),
            "ags": kommune.ags,
            "cycle_year": self.year,
            "outstanding": list(reminder.outstanding),
            "due_date": reminder.due_date,
            "submission_address": self.mailer.submission_address,
        }
        if reminder.stage.kind is StageKind.REMINDER:
            kind = MessageKind.DELIVERABLE_REMINDER
            context["days_remaining"] = (reminder.due_date - self.today).days
            attachments = [self._deadline_ics(kommune, reminder)]
        else:
            kind = MessageKind.OVERDUE_NOTICE
            context["days_overdue"] = (self.today - reminder.due_date).days
            context["respond_by"] = next_working_day(self.today + timedelta(days=7))
            attachments = []
        attach = self.workbook is not None and DeliverableKind.QUESTIONNAIRE in reminder.outstanding
        if self.workbook is not None and attach:
            attachments.append(self.workbook(kommune))
        context["workbook_attached"] = attach
        keyed: dict[str, Any] = {
            "subject_ref": deliverable_ref(kommune.ags, self.year),
            "occasion": stage_occasion(str(reminder.stage), reminder.due_date),
            "key_recipient": kommune_recipient(kommune.ags),
            "to": [Recipient.of(c) for c in to],
        }
        if self.links is not None and to:
            context["portal_link"] = self.links.link_for(to[0], issued_for=self.mailer.key_for(kind, **keyed))
        return self.mailer.compose(
            kind,
            **keyed,
            cc=[Recipient.of(c) for c in cc],
            context=context,
            attachments=attachments,
            varying=PER_KOMMUNE,
        )

    def _deadline_ics(self, kommune: KommuneRow, reminder: PlannedReminder) -> Any:
        revision = max((d.due_revision for d in self.state.deliverables[kommune.ags]), default=0)
        labels = " und ".join(k.label_de for k in reminder.outstanding)
        content = deadline_event(
            uid=deadline_calendar_uid(self.year, kommune.ags, self.mailer.sender_domain),
            summary=f"Abgabefrist KIM {self.year}: {labels}",
            description=f"Abgabe von {labels} (Kommunales Integrationsmanagement {self.year}) beim MFFKI.",
            due=reminder.due_date,
            sequence=revision,
            dtstamp=self.now,
        )
        return calendar_attachment(content, MessageKind.DELIVERABLE_REMINDER, "abgabefrist.ics")

    def _id(self, ags: str) -> int:
        return self.state.kommunen[ags].id

    def escalation(self, digest: EscalationDigest, to: list[Recipient], cc: list[Recipient]) -> NewEmail:
        """One digest to the first ministry contact, the others and the policy's ``escalation_cc`` in Cc.

        Keyed by the first recipient's address, as before with the one configured address.
        """
        entries = [
            {
                "ags": e.ags,
                "kommune_name": display_name(self.state.kommunen[e.ags].name, self.state.kommunen[e.ags].kind)
                + ("" if e.has_active_contact else no_contact_note(self.state.contacts.get(self._id(e.ags), []))),
                "outstanding": list(e.outstanding),
                "due_date": e.due_date,
                "days_overdue": (self.today - e.due_date).days,
            }
            for e in digest.entries
        ]
        return self.mailer.compose(
            MessageKind.ESCALATION_DIGEST,
            subject_ref=year_ref(self.year),
            occasion=due_dates_occasion(digest.due_dates),
            to=to,
            cc=cc,
            context={"cycle_year": self.year, "as_of": self.today, "entries": entries},
        )
