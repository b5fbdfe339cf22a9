"""The emails of meetings: invitation, update or cancellation of the current version, reminders, minutes.

Every email is keyed by kind, meeting, version (SEQUENCE) and recipient, so re-running anything sends nothing
twice. Invitations, updates, cancellations and minutes go to every active invitee; reminders skip those who
declined. Nothing is sent about a meeting that is over (except its minutes).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from kim_workflow.core.domain import MeetingStatus
from kim_workflow.core.ladder import Ladder, Stage, parse_stages
from kim_workflow.core.meetings import (
    AGENDA_MAX,
    URL_MAX,
    agenda_items,
    check_multiline,
    check_text,
    check_url,
    due_meeting_stage,
    meeting_ladder,
)
from kim_workflow.db.events import record_event
from kim_workflow.db.models import Contact, DomainEvent, Meeting, MeetingInvitee, OutboxMessage
from kim_workflow.db.reminder_log import ReminderScope
from kim_workflow.email.formatting import organiser_label
from kim_workflow.email.ics import calendar_attachment, meeting_event
from kim_workflow.email.keys import (
    invitee_ref,
    meeting_ref,
    meeting_stage_occasion,
    minutes_occasion,
    outbox_key,
    sequence_occasion,
)
from kim_workflow.email.kinds import MessageKind
from kim_workflow.email.mime import Attachment
from kim_workflow.email.outbox import NewEmail, enqueue
from kim_workflow.email.specs import meeting_method, spec_of
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.lookups import id_of
from kim_workflow.services.mailer import Mailer, Recipient
from kim_workflow.services.meetings import RESCHEDULED, get_meeting
from kim_workflow.services.minutes_file import minutes_attachment
from kim_workflow.services.policies import load_policy
from kim_workflow.services.reminder_ladder import log_and_queue, sent_stages, stage_rows
from kim_workflow.settings import Settings

NOTICE_KINDS = (MessageKind.MEETING_INVITATION, MessageKind.MEETING_UPDATE)


@dataclass
class Notified:
    """What :func:`notify_meeting` planned and queued."""

    meeting_id: int
    counts: dict[str, int] = field(default_factory=dict)
    queued: int = 0


@dataclass
class ReminderRun:
    emails: list[NewEmail] = field(default_factory=list)
    log_rows: list[dict[str, Any]] = field(default_factory=list)
    queued: int = 0

    @property
    def years(self) -> set[int]:
        return {int(row["year"]) for row in self.log_rows}


def notify_meeting(session: Session, settings: Settings, *, meeting_id: int, now: datetime) -> Notified:
    """Queue what the meeting's current version needs: invitations, updates or cancellations (idempotent)."""
    meeting = get_meeting(session, meeting_id)
    result = Notified(meeting_id)
    if meeting.ends_at <= now:
        return result
    mail = MeetingMail(Mailer(settings), meeting, now)
    earlier = _earlier_notices(session, meeting)
    recipients = invitees(session, meeting_id)
    if meeting.status is MeetingStatus.CANCELLED:
        emails = [mail.cancellation(c) for c in recipients if earlier.get(c.email.lower())]
    else:
        changes = _changes(session, meeting)
        notices = [mail.notice(c, earlier.get(c.email.lower(), set()), changes) for c in recipients]
        emails = [email for email in notices if email is not None]
    for email in emails:
        result.counts[email.kind] = result.counts.get(email.kind, 0) + 1
    result.queued = enqueue(session, emails, now=now, sender_domain=mail.mailer.sender_domain).created
    return result


def plan_meeting_reminders(
    session: Session, settings: Settings, *, today: date, now: datetime, dry_run: bool = False
) -> ReminderRun:
    """Reminders due ``today`` for upcoming scheduled meetings (the latest due stage only), logged and queued."""
    meetings = session.exec(
        select(Meeting)
        .where(col(Meeting.status) == MeetingStatus.SCHEDULED, col(Meeting.starts_at) > now)
        .order_by(col(Meeting.starts_at))
    ).all()
    run = ReminderRun()
    ladders: dict[int, Ladder] = {
        year: meeting_ladder(load_policy(year, settings.policy_dir).meetings.reminder_days_before)
        for year in {m.year for m in meetings}
    }
    near = [  # meetings for which a stage is due by the rule: only these need their invitees and log loaded
        (meeting, day)
        for meeting in meetings
        if ladders[meeting.year].latest_due(day := meeting.starts_at.astimezone(settings.tz).date(), today) is not None
    ]
    if not near:
        return run
    sent = sent_stages(session, scopes=[ReminderScope.MEETING], years=list(ladders), due_dates={day for _, day in near})
    for meeting, day in near:
        mail = MeetingMail(Mailer(settings), meeting, now)
        changed_on = (meeting.updated_at or meeting.created_at).astimezone(settings.tz).date()
        for contact in invitees(session, id_of(meeting), declined=False):
            ref = invitee_ref(id_of(meeting), contact.id)
            done = parse_stages(sent.get((ReminderScope.MEETING, ref, day), ()))
            stage = due_meeting_stage(day, ladders[meeting.year], today, done, changed_on)
            if stage is not None:
                run.emails.append(mail.reminder(contact, stage, (day - today).days, day))
                run.log_rows += stage_rows(
                    scope=ReminderScope.MEETING, ref=ref, year=meeting.year, due=day, stages=[str(stage)], today=today,
                    now=now,
                )  # fmt: skip
    if not dry_run and run.emails:
        run.queued = log_and_queue(
            session, log_rows=run.log_rows, emails=run.emails, now=now, sender_domain=Mailer(settings).sender_domain
        )
    return run


def attach_minutes(
    session: Session,
    settings: Settings,
    *,
    meeting_id: int,
    now: datetime,
    actor: str,
    file: Path | None = None,
    link: str | None = None,
    summary: str | None = None,
) -> int:
    """Store the minutes (a file, attached, or a link, put in the text) and queue them to every invitee."""
    meeting = get_meeting(session, meeting_id)
    if meeting.status is MeetingStatus.CANCELLED or meeting.starts_at > now:
        raise UseCaseError(f"Termin {meeting_id} ist abgesagt oder hat noch nicht stattgefunden.")
    if (file is None) == (link is None):
        raise UseCaseError("Bitte entweder eine Protokolldatei oder einen Link angeben.")
    summary = check_multiline(summary, "Zusammenfassung", AGENDA_MAX)
    attachment = minutes_attachment(file) if file is not None else None
    url = check_url(link, "Link zum Protokoll")
    meeting.minutes_ref = check_text(str(file.resolve()), "Protokolldatei", URL_MAX) if file is not None else url
    meeting.updated_at = now
    if url:
        summary = "\n\n".join(filter(None, [summary, f"Das Protokoll finden Sie unter: {url}"]))
    mail = MeetingMail(Mailer(settings), meeting, now)
    emails = [mail.minutes(c, summary, attachment) for c in invitees(session, meeting_id)]
    queued = enqueue(session, emails, now=now, sender_domain=mail.mailer.sender_domain).created
    record_event(
        session, now=now, actor=actor, action="kim.meeting.minutes_attached", subject_type="meeting",
        subject_id=str(meeting_id), year=meeting.year,
        payload={"meeting_id": meeting_id, "minutes": "file" if file else "link", "queued": queued},
    )  # fmt: skip
    return queued


def invitees(session: Session, meeting_id: int, *, declined: bool | None = None) -> list[Contact]:
    """The meeting's active invited contacts (only those with ``declined`` as given, unless ``None``)."""
    query = (
        select(Contact)
        .join(MeetingInvitee, col(MeetingInvitee.contact_id) == col(Contact.id))
        .where(col(MeetingInvitee.meeting_id) == meeting_id, col(Contact.active))
        .order_by(col(Contact.id))
    )
    if declined is not None:
        query = query.where(col(MeetingInvitee.declined) == declined)
    return list(session.exec(query))


@dataclass(frozen=True)
class MeetingMail:
    """Composes the emails of one meeting version; keys: ``<kind>|meeting:<id>|seq:<n>[|…]|to:<address>``."""

    mailer: Mailer
    meeting: Meeting
    now: datetime

    def key(self, kind: MessageKind, contact: Contact) -> str:
        return outbox_key(kind.value, meeting_ref(id_of(self.meeting)), contact.email, self._occasion())

    def notice(self, contact: Contact, earlier: set[str], changes: list[str]) -> NewEmail | None:
        """An invitation to a first-timer, an update to one notified before; ``None`` if this version was sent."""
        if earlier & {self.key(kind, contact) for kind in NOTICE_KINDS}:
            return None
        return self.update(contact, changes) if earlier else self.invitation(contact)

    def invitation(self, contact: Contact) -> NewEmail:
        return self._compose(MessageKind.MEETING_INVITATION, contact, {"rsvp_by": None})

    def update(self, contact: Contact, changes: list[str]) -> NewEmail:
        return self._compose(MessageKind.MEETING_UPDATE, contact, {"changes": changes})

    def cancellation(self, contact: Contact) -> NewEmail:
        return self._compose(MessageKind.MEETING_CANCELLATION, contact, {"reason": self.meeting.cancel_reason})

    def reminder(self, contact: Contact, stage: Stage, days_until: int, day: date) -> NewEmail:
        occasion = meeting_stage_occasion(str(stage), day)
        return self._compose(MessageKind.MEETING_REMINDER, contact, {"days_until": days_until}, occasion)

    def minutes(self, contact: Contact, summary: str | None, attachment: Attachment | None) -> NewEmail:
        extra = {"summary": summary, "attachment_names": [attachment.filename] if attachment else []}
        return self._compose(
            MessageKind.MEETING_MINUTES, contact, extra, minutes_occasion(self.meeting.minutes_ref), attachment
        )

    def _occasion(self, more: str | None = None) -> str:
        return sequence_occasion(self.meeting.sequence, more)

    def _compose(
        self,
        kind: MessageKind,
        contact: Contact,
        extra: dict[str, Any],
        occasion: str | None = None,
        attachment: Attachment | None = None,
    ) -> NewEmail:
        """The kind's spec says whether it carries the meeting's calendar file (and with which METHOD)."""
        if spec_of(kind).calendar_method is not None:
            attachments = [self._ics(kind, contact.email)]
        else:
            attachments = [attachment] if attachment else []
        return self.mailer.compose(
            kind,
            subject_ref=meeting_ref(id_of(self.meeting)),
            occasion=self._occasion(occasion),
            to=[Recipient.of(contact)],
            context={**self._context(), **extra},
            attachments=attachments,
        )

    def _context(self) -> dict[str, Any]:
        m = self.meeting
        return {
            "meeting_type": m.type, "title": m.title, "start": m.starts_at, "end": m.ends_at, "organiser": m.organiser,
            "location": m.location, "video_url": m.video_link, "agenda": agenda_items(m.agenda),
        }  # fmt: skip

    def _ics(self, kind: MessageKind, attendee: str) -> Attachment:
        m, method = self.meeting, meeting_method(kind)
        description = "\n".join(
            [*agenda_items(m.agenda), *([f"Videokonferenz: {m.video_link}"] if m.video_link else [])]
        )
        content = meeting_event(
            uid=m.uid, summary=m.title, description=description, start=m.starts_at, end=m.ends_at,
            location=m.location, url=m.video_link, organizer_email=self.mailer.settings.mail_reply_to,
            organizer_name=organiser_label(m.organiser), attendee_email=attendee, sequence=m.sequence,
            method=method, dtstamp=self.now, tz=self.mailer.settings.timezone,
        )  # fmt: skip
        return calendar_attachment(content, kind, "absage.ics" if method == "CANCEL" else "termin.ics")


def _earlier_notices(session: Session, meeting: Meeting) -> dict[str, set[str]]:
    """Per recipient address, the keys of invitations and updates already queued for this meeting."""
    rows = session.exec(
        select(OutboxMessage.recipient, OutboxMessage.idempotency_key).where(
            col(OutboxMessage.subject_ref) == meeting_ref(id_of(meeting)),
            col(OutboxMessage.kind).in_([k.value for k in NOTICE_KINDS]),
        )
    ).all()
    keys: dict[str, set[str]] = defaultdict(set)
    for recipient, key in rows:
        keys[recipient.lower()].add(key)
    return keys


def _changes(session: Session, meeting: Meeting) -> list[str]:
    """What the move to the current version changed (from the event of that move)."""
    event = session.exec(
        select(DomainEvent)
        .where(col(DomainEvent.action) == RESCHEDULED, col(DomainEvent.subject_id) == str(meeting.id))
        .order_by(col(DomainEvent.id).desc())
    ).first()
    if event is None or event.payload.get("sequence") != meeting.sequence:
        return []
    return [str(change) for change in event.payload.get("changes", [])]
