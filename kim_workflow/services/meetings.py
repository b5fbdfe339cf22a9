"""Meeting use cases: add, generate a year's series, move, cancel, decline, record attendance; the year's overview.

The use cases store and record a domain event (``kim.meeting.*``); the emails follow from the event (flow
``meeting-notify`` → :mod:`kim_workflow.services.meeting_notifications`).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from kim_workflow.core.domain import ContactRole, MeetingStatus
from kim_workflow.core.meetings import (
    LOCATION_MAX,
    REASON_MAX,
    MeetingDraft,
    MeetingInputError,
    check_draft,
    check_text,
    check_times,
    check_url,
    draft_of,
    series_occurrences,
)
from kim_workflow.core.validation import normalise_email
from kim_workflow.db.events import record_event
from kim_workflow.db.models import Contact, Kommune, Meeting, MeetingAttendance, MeetingInvitee
from kim_workflow.email.formatting import format_meeting_when
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.lookups import active_contacts_by_kommune, id_of, split_recipients
from kim_workflow.services.mailer import Mailer
from kim_workflow.services.policies import load_policy
from kim_workflow.settings import Settings

SCHEDULED, RESCHEDULED, CANCELLED = "kim.meeting.scheduled", "kim.meeting.rescheduled", "kim.meeting.cancelled"
KEEP: Any = object()  # "leave this field as it is" in :func:`move_meeting`


@dataclass
class SeriesResult:
    created: list[Meeting] = field(default_factory=list)
    existing: int = 0
    past: int = 0


@dataclass(frozen=True)
class MeetingOverview:
    meeting: Meeting
    invited: int
    declined: int
    attended: int


def get_meeting(session: Session, meeting_id: int) -> Meeting:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise UseCaseError(f"Einen Termin mit der Nummer {meeting_id} gibt es nicht.")
    return meeting


def add_meeting(
    session: Session,
    settings: Settings,
    *,
    draft: MeetingDraft,
    now: datetime,
    actor: str,
    kommunen: Sequence[str] | None = None,
) -> Meeting:
    """Store a meeting entered by an admin with its invitees (all Kommunen or ``kommunen``, DBKI, ministry)."""
    checked = check_draft(draft, require_place=True)
    _future(checked.start, now)
    invitees = default_invitees(session, kommunen)
    uid = f"kim-meeting-{uuid.uuid4().hex}@{Mailer(settings).sender_domain}"
    year = checked.start.astimezone(settings.tz).year
    return _store(session, checked, invitees, uid=uid, year=year, series_key=None, now=now, actor=actor)


def generate_series(session: Session, settings: Settings, *, year: int, now: datetime, actor: str) -> SeriesResult:
    """Create the year's series meetings from the policy rules; occurrences stored before or past are skipped."""
    existing = set(session.exec(select(Meeting.series_key).where(col(Meeting.series_key).is_not(None))))
    result, pending = SeriesResult(), []
    for rule in load_policy(year, settings.policy_dir).meetings.series:
        for occurrence in series_occurrences(rule, year, settings.tz):
            if occurrence.series_key in existing:
                result.existing += 1
            elif occurrence.start <= now:
                result.past += 1
            else:
                pending.append((rule, occurrence))
    invitees = default_invitees(session, None) if pending else []
    domain = Mailer(settings).sender_domain
    for rule, occurrence in pending:
        uid = f"kim-meeting-{occurrence.series_key.replace('/', '-')}@{domain}"
        result.created.append(
            _store(session, check_draft(draft_of(rule, occurrence)), invitees, uid=uid, year=year,
                   series_key=occurrence.series_key, now=now, actor=actor)
        )  # fmt: skip
    return result


def move_meeting(
    session: Session,
    settings: Settings,
    *,
    meeting_id: int,
    start: datetime,
    end: datetime,
    now: datetime,
    actor: str,
    location: str | None = KEEP,
    video_link: str | None = KEEP,
) -> Meeting:
    """New time (and optionally place or link): the next version (SEQUENCE + 1) of the same calendar entry."""
    meeting = _open_meeting(session, meeting_id, now)
    check_times(start, end)
    _future(start, now)
    new_location = meeting.location if location is KEEP else check_text(location, "Ort", LOCATION_MAX)
    new_link = meeting.video_link if video_link is KEEP else check_url(video_link, "Videolink")
    changes = _changes(meeting, start, end, new_location, new_link, settings.timezone)
    if not changes:
        raise UseCaseError("Es ändert sich nichts: Zeit, Ort und Videolink sind schon so eingetragen.")
    previous = meeting.starts_at
    meeting.starts_at, meeting.ends_at, meeting.location, meeting.video_link = start, end, new_location, new_link
    _next_version(meeting, now)
    _event(session, meeting, RESCHEDULED, now, actor, previous_start=previous.isoformat(), changes=changes)
    return meeting


def cancel_meeting(session: Session, *, meeting_id: int, reason: str, now: datetime, actor: str) -> Meeting:
    """Cancel a meeting that has not begun; its invitees get a cancellation (METHOD:CANCEL)."""
    meeting = _open_meeting(session, meeting_id, now)
    meeting.cancel_reason = check_text(reason, "Grund", REASON_MAX, required=True)
    meeting.status = MeetingStatus.CANCELLED
    _next_version(meeting, now)
    _event(session, meeting, CANCELLED, now, actor)
    return meeting


def record_decline(
    session: Session, *, meeting_id: int, email: str, now: datetime, actor: str, declined: bool = True
) -> int:
    """Mark the invitee(s) with ``email`` as declined (or not): they get no reminders. Return how many."""
    meeting = _open_meeting(session, meeting_id, now)
    address = normalise_email(email, field="E-Mail").lower()
    rows = session.exec(
        select(MeetingInvitee, Contact)
        .join(Contact, col(Contact.id) == col(MeetingInvitee.contact_id))
        .where(col(MeetingInvitee.meeting_id) == meeting_id, func.lower(col(Contact.email)) == address)
    ).all()
    if not rows:
        raise UseCaseError(f"{email} ist zu Termin {meeting_id} nicht eingeladen.")
    for invitee, contact in rows:
        invitee.declined = declined
        action = "kim.meeting.declined" if declined else "kim.meeting.decline_withdrawn"
        _event(session, meeting, action, now, actor, contact_id=contact.id)
    return len(rows)


def record_attendance(
    session: Session, *, meeting_id: int, present: Sequence[str], absent: Sequence[str], now: datetime, actor: str
) -> dict[str, bool]:
    """Record per Kommune (AGS) whether it attended; a second record for a Kommune replaces the first."""
    meeting = get_meeting(session, meeting_id)
    if meeting.status is MeetingStatus.CANCELLED or meeting.starts_at > now:
        raise UseCaseError(f"Termin {meeting_id} ist abgesagt oder hat noch nicht begonnen.")
    wanted = {**dict.fromkeys(absent, False), **dict.fromkeys(present, True)}
    both = sorted(set(present) & set(absent))
    if not wanted:
        raise UseCaseError("Bitte mindestens eine Kommune als anwesend oder abwesend angeben.")
    if both:
        raise UseCaseError(f"Sowohl anwesend als auch abwesend angegeben: {', '.join(both)}.")
    kommunen = {k.ags: k for k in session.exec(select(Kommune).where(col(Kommune.ags).in_(wanted)))}
    unknown = sorted(set(wanted) - set(kommunen))
    if unknown:
        raise UseCaseError(f"Unbekannte AGS: {', '.join(unknown)}.")
    _upsert_attendance(session, meeting_id, {id_of(kommunen[ags]): v for ags, v in wanted.items()}, now, actor)
    counts = Counter(wanted.values())
    _event(session, meeting, "kim.meeting.attendance_recorded", now, actor, present=counts[True], absent=counts[False])
    return wanted


def default_invitees(session: Session, kommunen: Sequence[str] | None) -> list[Contact]:
    """The integration managers (else role mailbox, else deputies) of active Kommunen, plus DBKI and ministry."""
    query = select(Kommune).where(col(Kommune.active))
    if kommunen is not None:
        wanted = sorted(set(kommunen))
        found = {k.ags: k for k in session.exec(select(Kommune).where(col(Kommune.ags).in_(wanted)))}
        unknown = [ags for ags in wanted if ags not in found]
        if unknown or not wanted:
            raise UseCaseError(f"Unbekannte AGS: {', '.join(unknown) or 'keine angegeben'}.")
        query = query.where(col(Kommune.ags).in_(wanted))
    ids = [id_of(k) for k in session.exec(query)]
    grouped = active_contacts_by_kommune(session, ids)
    managers = [c for kommune_id in ids for c in split_recipients(grouped.get(kommune_id, []))[0]]
    others = session.exec(
        select(Contact)
        .where(col(Contact.active), col(Contact.role).in_((ContactRole.DBKI, ContactRole.MINISTRY)))
        .order_by(col(Contact.id))
    ).all()
    return [*managers, *others]


def overview(session: Session, year: int) -> list[MeetingOverview]:
    """The year's meetings in date order with invited, declined and attending counts (three queries)."""
    meetings = session.exec(select(Meeting).where(col(Meeting.year) == year).order_by(col(Meeting.starts_at))).all()
    ids = [id_of(m) for m in meetings]
    invited: Counter[int] = Counter()
    declined: Counter[int] = Counter()
    for meeting_id, is_declined in session.exec(
        select(MeetingInvitee.meeting_id, MeetingInvitee.declined).where(col(MeetingInvitee.meeting_id).in_(ids))
    ):
        invited[meeting_id] += 1
        declined[meeting_id] += bool(is_declined)
    attended = Counter(
        session.exec(
            select(MeetingAttendance.meeting_id).where(
                col(MeetingAttendance.meeting_id).in_(ids), col(MeetingAttendance.attended)
            )
        ).all()
    )
    return [MeetingOverview(m, invited[id_of(m)], declined[id_of(m)], attended[id_of(m)]) for m in meetings]


def _future(start: datetime, now: datetime) -> None:
    if start <= now:
        raise MeetingInputError("Der Beginn des Termins liegt in der Vergangenheit.")


def _upsert_attendance(
    session: Session, meeting_id: int, attended_by_kommune: dict[int, bool], now: datetime, actor: str
) -> None:
    query = select(MeetingAttendance).where(col(MeetingAttendance.meeting_id) == meeting_id)
    existing = {row.kommune_id: row for row in session.exec(query)}
    for kommune_id, attended in attended_by_kommune.items():
        row = existing.get(kommune_id) or MeetingAttendance(
            meeting_id=meeting_id, kommune_id=kommune_id, attended=attended, recorded_at=now, recorded_by=actor
        )
        row.attended, row.recorded_at, row.recorded_by = attended, now, actor
        session.add(row)


def _open_meeting(session: Session, meeting_id: int, now: datetime) -> Meeting:
    """A scheduled meeting that has not begun yet (only those can be moved, cancelled or declined)."""
    meeting = get_meeting(session, meeting_id)
    if meeting.status is MeetingStatus.CANCELLED:
        raise UseCaseError(f"Termin {meeting_id} ist bereits abgesagt.")
    if meeting.starts_at <= now:
        raise UseCaseError(f"Termin {meeting_id} hat bereits begonnen oder ist vorbei.")
    return meeting


def _store(
    session: Session,
    draft: MeetingDraft,
    invitees: list[Contact],
    *,
    uid: str,
    year: int,
    series_key: str | None,
    now: datetime,
    actor: str,
) -> Meeting:
    meeting = Meeting(
        uid=uid, year=year, type=draft.type, title=draft.title, starts_at=draft.start, ends_at=draft.end,
        location=draft.location, video_link=draft.video_link, agenda=draft.agenda, organiser=draft.organiser,
        status=MeetingStatus.SCHEDULED, sequence=0, series_key=series_key, created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(meeting)
    session.flush()
    session.add_all(MeetingInvitee(meeting_id=id_of(meeting), contact_id=id_of(c)) for c in invitees)
    _event(session, meeting, SCHEDULED, now, actor, invitees=len(invitees), series_key=series_key)
    return meeting


def _next_version(meeting: Meeting, now: datetime) -> None:
    meeting.sequence += 1
    meeting.updated_at = now


def _changes(
    meeting: Meeting, start: datetime, end: datetime, location: str | None, link: str | None, tz: str
) -> list[str]:
    """What a move changes, in German, for the update email."""
    changes = []
    if (start, end) != (meeting.starts_at, meeting.ends_at):
        changes.append(f"Neuer Zeitpunkt (bisher: {format_meeting_when(meeting.starts_at, meeting.ends_at, tz)})")
    if location != meeting.location:
        changes.append(f"Neuer Ort (bisher: {meeting.location or 'keine Angabe'})")
    if link != meeting.video_link:
        changes.append("Neuer Link zur Videokonferenz" if link else "Keine Videokonferenz mehr")
    return changes


def _event(session: Session, meeting: Meeting, action: str, now: datetime, actor: str, **payload: Any) -> None:
    """``meeting_id`` is in every payload: the trigger of ``meeting-notify`` passes it on as the parameter."""
    record_event(
        session,
        now=now,
        actor=actor,
        action=action,
        subject_type="meeting",
        subject_id=str(id_of(meeting)),
        year=meeting.year,
        payload={"meeting_id": id_of(meeting), "sequence": meeting.sequence, **payload},
    )
