"""Coarse Prefect tasks of meetings: one task per use case, whatever the number of invitees."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

from prefect import task

from kim_workflow.app import utc_now
from kim_workflow.core.meetings import MeetingDraft, as_aware
from kim_workflow.db.engine import session_scope
from kim_workflow.db.models import Meeting
from kim_workflow.orchestration import views
from kim_workflow.orchestration.context import current_app
from kim_workflow.orchestration.outcomes import retry_unless_bad_input
from kim_workflow.orchestration.results import (
    AttendanceSummary,
    MeetingNotified,
    MeetingReminders,
    MeetingSummary,
    MinutesSummary,
    SeriesSummary,
)
from kim_workflow.services import meeting_notifications as notifications
from kim_workflow.services import meetings as meeting_service
from kim_workflow.services.lookups import id_of


def _summary(meeting: Meeting) -> MeetingSummary:
    return MeetingSummary(
        meeting_id=id_of(meeting), year=meeting.year, sequence=meeting.sequence, status=meeting.status
    )


@task(name="add-meeting")
def add_meeting_task(draft: MeetingDraft, kommunen: list[str] | None, actor: str) -> MeetingSummary:
    """Store one meeting; naive times are local time of the programme's zone."""
    kim = current_app()
    tz = kim.settings.tz
    local = replace(draft, start=as_aware(draft.start, tz), end=as_aware(draft.end, tz))
    with session_scope(kim.engine) as session:
        meeting = meeting_service.add_meeting(
            session, kim.settings, draft=local, kommunen=kommunen, now=utc_now(), actor=actor
        )
        return _summary(meeting)


@task(name="generate-meeting-series")
def generate_series_task(year: int, actor: str) -> SeriesSummary:
    kim = current_app()
    with session_scope(kim.engine) as session:
        result = meeting_service.generate_series(session, kim.settings, year=year, now=utc_now(), actor=actor)
        return SeriesSummary(year, [id_of(m) for m in result.created], result.existing, result.past)


@task(name="move-meeting")
def move_meeting_task(meeting_id: int, start: datetime, end: datetime, actor: str) -> MeetingSummary:
    kim = current_app()
    tz = kim.settings.tz
    with session_scope(kim.engine) as session:
        meeting = meeting_service.move_meeting(
            session, kim.settings, meeting_id=meeting_id, start=as_aware(start, tz), end=as_aware(end, tz),
            now=utc_now(), actor=actor,
        )  # fmt: skip
        return _summary(meeting)


@task(name="cancel-meeting")
def cancel_meeting_task(meeting_id: int, reason: str, actor: str) -> MeetingSummary:
    kim = current_app()
    with session_scope(kim.engine) as session:
        meeting = meeting_service.cancel_meeting(
            session, meeting_id=meeting_id, reason=reason, now=utc_now(), actor=actor
        )
        return _summary(meeting)


@task(name="record-attendance")
def record_attendance_task(meeting_id: int, present: list[str], absent: list[str], actor: str) -> AttendanceSummary:
    kim = current_app()
    with session_scope(kim.engine) as session:
        recorded = meeting_service.record_attendance(
            session, meeting_id=meeting_id, present=present, absent=absent, now=utc_now(), actor=actor
        )
        year = meeting_service.get_meeting(session, meeting_id).year
    return AttendanceSummary(meeting_id, year, present=sum(recorded.values()), recorded=len(recorded))


@task(name="attach-minutes")
def attach_minutes_task(meeting_id: int, minutes: str, summary: str | None, actor: str) -> MinutesSummary:
    """``minutes`` is an http(s) link or the path of a file on the machine that runs the flow."""
    kim = current_app()
    is_link = minutes.lower().startswith(("http://", "https://"))
    with session_scope(kim.engine) as session:
        queued = notifications.attach_minutes(
            session, kim.settings, meeting_id=meeting_id, now=utc_now(), actor=actor, summary=summary,
            link=minutes if is_link else None, file=None if is_link else Path(minutes),
        )  # fmt: skip
        year = meeting_service.get_meeting(session, meeting_id).year
    return MinutesSummary(meeting_id, year, minutes_queued=queued)


@task(name="notify-meeting", retries=2, retry_delay_seconds=[5, 30], retry_condition_fn=retry_unless_bad_input)
def notify_meeting_task(meeting_id: int) -> MeetingNotified:
    """Queue the invitations, updates or cancellations of the meeting's current version (idempotent)."""
    kim = current_app()
    with session_scope(kim.engine) as session:
        result = notifications.notify_meeting(session, kim.settings, meeting_id=meeting_id, now=utc_now())
        meeting = meeting_service.get_meeting(session, meeting_id)
        return MeetingNotified(
            meeting_id=id_of(meeting), year=meeting.year, sequence=meeting.sequence, status=meeting.status,
            planned=dict(result.counts), queued=result.queued,
        )  # fmt: skip


@task(name="plan-meeting-reminders", retries=2, retry_delay_seconds=[5, 30], retry_condition_fn=retry_unless_bad_input)
def plan_meeting_reminders_task(today: date, dry_run: bool = False) -> MeetingReminders:
    """One transaction: the day's reminders of every upcoming meeting, logged and queued."""
    kim = current_app()
    with session_scope(kim.engine) as session:
        run = notifications.plan_meeting_reminders(session, kim.settings, today=today, now=utc_now(), dry_run=dry_run)
        if dry_run:
            session.rollback()
    refs = sorted({email.subject_ref for email in run.emails})
    return MeetingReminders(planned=len(run.emails), queued=run.queued, meetings=refs, years=sorted(run.years))


@task(name="publish-meetings-artifact")
def publish_meetings_artifact(years: list[int]) -> int:
    """Markdown ``kim-meetings-<year>``: the year's meetings with place, status, invited and attending counts."""
    kim = current_app()
    return len(views.publish_meetings(kim.engine, kim.settings, years=years, now=utc_now()))
