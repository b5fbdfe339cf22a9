"""Meetings: manual deployments of admins, the triggered notification and the daily reminders.

Adding, moving and cancelling only store the meeting and its domain event; the event (``kim.meeting.*``,
payload ``meeting_id``) triggers ``meeting-notify``, which queues the emails of the meeting's current version
and sends them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from prefect import State, flow
from pydantic import BaseModel, Field

from kim_workflow.core.domain import Organiser
from kim_workflow.core.meetings import MeetingDraft
from kim_workflow.core.policy import PolicyError
from kim_workflow.orchestration.cycle_tasks import dispatch_outbox, local_today, publish_events
from kim_workflow.orchestration.forms import (
    ORGANISERS,
    Actor,
    DryRun,
    GermanDateTime,
    Kommune,
    MeetingTypeChoice,
    OptionalText,
    OrganiserChoice,
    Today,
    Year,
    de,
)
from kim_workflow.orchestration.meeting_tasks import (
    add_meeting_task,
    attach_minutes_task,
    cancel_meeting_task,
    generate_series_task,
    move_meeting_task,
    notify_meeting_task,
    plan_meeting_reminders_task,
    publish_meetings_artifact,
    record_attendance_task,
)
from kim_workflow.orchestration.outcomes import delivery_outcome, policy_refused
from kim_workflow.orchestration.results import (
    MeetingAttendance,
    MeetingNotified,
    MeetingReminders,
    MeetingSummary,
    SeriesSummary,
)

MeetingId = Annotated[int, Field(ge=1), de("Termin-Nr.", "Die Nummer des Termins (siehe Artefakt kim-meetings-<Jahr>)")]
TIME = "TT.MM.JJJJ HH:MM, Ortszeit, z. B. 10.06.2026 10:00"
Start = Annotated[GermanDateTime, de("Beginn", TIME)]
End = Annotated[GermanDateTime, de("Ende", TIME)]


class NewMeeting(BaseModel):
    """Ein Termin; Zeiten gelten als Ortszeit (Europe/Berlin)."""

    type: MeetingTypeChoice = de("Art des Termins", "Vernetzungstreffen, Arbeitstreffen, Fachveranstaltung …")
    title: str = de("Titel", "Erscheint im Betreff der Einladung", min_length=1, max_length=300)
    start: GermanDateTime = de("Beginn", TIME)
    end: GermanDateTime = de("Ende", TIME)
    location: OptionalText = de("Ort", "Anschrift oder Raum (optional)", default=None, max_length=500)
    video_link: OptionalText = de("Videokonferenz", "Link, https://… (optional)", default=None, max_length=1000)
    agenda: OptionalText = de("Tagesordnung", "Ein Punkt je Zeile (optional)", default=None, max_length=10_000)
    organiser: OrganiserChoice = de(
        "Veranstalter", "Wer einlädt", default=Organiser.FACHREFERAT, shown=ORGANISERS.label(Organiser.FACHREFERAT)
    )
    kommunen: list[Kommune] = de(
        "Nur diese Kommunen", "Für regionale Termine; leer lassen: alle Kommunen", default_factory=list
    )

    def draft(self) -> MeetingDraft:
        return MeetingDraft(
            type=self.type, title=self.title, start=self.start, end=self.end, location=self.location,
            video_link=self.video_link, agenda=self.agenda, organiser=self.organiser,
        )  # fmt: skip


class Attendance(BaseModel):
    """Teilnahme je Kommune und, falls vorhanden, das Protokoll."""

    meeting_id: MeetingId
    present: list[Kommune] = de("Anwesend", "Die teilnehmenden Kommunen", default_factory=list)
    absent: list[Kommune] = de("Abwesend", "Die fehlenden Kommunen", default_factory=list)
    minutes: OptionalText = de(
        "Protokoll", "Link (https://…) oder Dateipfad; wird an alle Eingeladenen versandt", default=None,
        max_length=1000,
    )  # fmt: skip
    summary: OptionalText = de("Ergebnisse in Kürze", "Optional, steht in der E-Mail", default=None, max_length=10_000)


@flow(name="meeting-add", description="Einen Termin anlegen; die Einladungen verschickt meeting-notify")
def meeting_add(
    meeting: Annotated[NewMeeting, de("Termin", "Art, Titel, Zeit, Ort und Eingeladene")], actor: Actor = "prefect-ui"
) -> MeetingSummary:
    result = add_meeting_task(meeting.draft(), meeting.kommunen or None, actor)
    publish_meetings_artifact([result.year])
    publish_events()
    return result


@flow(name="meeting-series", description="Die Terminreihen des Jahres aus der Richtlinie anlegen (idempotent)")
def meeting_series(
    year: Annotated[Year, de("Jahr", "Das Jahr der Terminreihen, z. B. 2026")], actor: Actor = "prefect-ui"
) -> SeriesSummary:
    result = generate_series_task(year, actor)
    publish_meetings_artifact([year])
    publish_events()
    return result


@flow(name="meeting-move", description="Einen Termin verschieben; die Aktualisierung verschickt meeting-notify")
def meeting_move(meeting_id: MeetingId, start: Start, end: End, actor: Actor = "prefect-ui") -> MeetingSummary:
    result = move_meeting_task(meeting_id, start, end, actor)
    publish_meetings_artifact([result.year])
    publish_events()
    return result


@flow(name="meeting-cancel", description="Einen Termin absagen; die Absage verschickt meeting-notify")
def meeting_cancel(
    meeting_id: MeetingId,
    reason: Annotated[
        str, de("Grund der Absage", "Steht in der Absage an alle Eingeladenen", min_length=1, max_length=1000)
    ],
    actor: Actor = "prefect-ui",
) -> MeetingSummary:
    result = cancel_meeting_task(meeting_id, reason, actor)
    publish_meetings_artifact([result.year])
    publish_events()
    return result


@flow(name="meeting-attendance", description="Teilnahme je Kommune erfassen, optional das Protokoll versenden")
def meeting_attendance(
    attendance: Annotated[Attendance, de("Teilnahme", "Wer da war, wer fehlte, Protokoll")], actor: Actor = "prefect-ui"
) -> MeetingAttendance:
    meeting_id, year = attendance.meeting_id, None
    present = recorded = minutes_queued = 0
    if attendance.present or attendance.absent or not attendance.minutes:
        recorded_attendance = record_attendance_task(meeting_id, attendance.present, attendance.absent, actor)
        year, present, recorded = recorded_attendance.year, recorded_attendance.present, recorded_attendance.recorded
    if attendance.minutes:
        minutes = attach_minutes_task(meeting_id, attendance.minutes, attendance.summary, actor)
        year, minutes_queued = minutes.year, minutes.minutes_queued
    assert year is not None  # at least one of the two tasks ran
    publish_meetings_artifact([year])
    publish_events()
    return MeetingAttendance(meeting_id, year, present=present, recorded=recorded, minutes_queued=minutes_queued)


@flow(name="meeting-notify", description="Einladung, Aktualisierung oder Absage eines Termins versenden")
def meeting_notify(meeting_id: MeetingId) -> MeetingNotified | State[MeetingNotified]:
    """Triggered by ``kim.meeting.*`` events; a re-run sends nothing twice."""
    result = replace(notify_meeting_task(meeting_id), dispatch=dispatch_outbox())
    publish_meetings_artifact([result.year])
    publish_events()
    return delivery_outcome(result, result.dispatch)


@flow(name="meeting-reminders", description="Terminerinnerungen (7 und 1 Tag vorher) planen und versenden")
def meeting_reminders(today: Today = None, dry_run: DryRun = False) -> MeetingReminders | State[MeetingReminders]:
    """``today`` defaults to the current day in Europe/Berlin; a second run on the same day sends nothing twice."""
    day = today or local_today()
    try:
        planned = plan_meeting_reminders_task(day, dry_run)
    except PolicyError as exc:
        return policy_refused(exc)
    result = replace(planned, dispatch=None if dry_run else dispatch_outbox())
    publish_meetings_artifact(sorted({day.year, *result.years}))
    return delivery_outcome(result, result.dispatch)
