"""Meetings: manual deployments of admins, the triggered notification and the daily reminders.

Adding, moving and cancelling only store the meeting and its domain event; the event (``kim.meeting.*``,
payload ``meeting_id``) triggers ``meeting-notify``, which queues the emails of the meeting's current version
and sends them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from prefect import flow
from pydantic import BaseModel, Field

from flows.cycle_admin import Actor, Ags
from kim_workflow.core.domain import MeetingType, Organiser
from kim_workflow.core.meetings import MeetingDraft
from kim_workflow.orchestration.cycle_tasks import dispatch_outbox, local_today, publish_events
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

Year = Annotated[int, Field(ge=2000, le=2100, description="Jahr")]
MeetingId = Annotated[int, Field(ge=1, description="Nummer des Termins")]


class NewMeeting(BaseModel):
    """Ein Termin; Zeiten ohne Zeitzone gelten als Ortszeit (Europe/Berlin)."""

    type: MeetingType = Field(description="vernetzungstreffen, arbeitstreffen, fachveranstaltung oder other")
    title: str = Field(min_length=1, max_length=300, description="Titel")
    start: datetime = Field(description="Beginn, z. B. 2026-06-10T10:00")
    end: datetime = Field(description="Ende, z. B. 2026-06-10T15:00")
    location: str | None = Field(default=None, max_length=500, description="Ort")
    video_link: str | None = Field(default=None, max_length=1000, description="Link zur Videokonferenz (https://…)")
    agenda: str | None = Field(default=None, max_length=10_000, description="Tagesordnung, ein Punkt je Zeile")
    organiser: Organiser = Field(default=Organiser.FACHREFERAT, description="fachreferat oder dbki")
    kommunen: list[Ags] | None = Field(default=None, description="Nur diese Kommunen (regional); leer: alle")

    def draft(self) -> MeetingDraft:
        return MeetingDraft(
            type=self.type, title=self.title, start=self.start, end=self.end, location=self.location,
            video_link=self.video_link, agenda=self.agenda, organiser=self.organiser,
        )  # fmt: skip


class Attendance(BaseModel):
    """Teilnahme je Kommune und, falls vorhanden, das Protokoll."""

    meeting_id: MeetingId
    present: list[Ags] = Field(default_factory=list, description="AGS der teilnehmenden Kommunen")
    absent: list[Ags] = Field(default_factory=list, description="AGS der fehlenden Kommunen")
    minutes: str | None = Field(default=None, max_length=1000, description="Protokoll: Link oder Dateipfad")
    summary: str | None = Field(default=None, max_length=10_000, description="Ergebnisse in Kürze (optional)")


@flow(name="meeting-add", description="Einen Termin anlegen; die Einladungen verschickt meeting-notify")
def meeting_add(meeting: NewMeeting, actor: Actor = "prefect-ui") -> dict[str, Any]:
    result = add_meeting_task(meeting.draft(), meeting.kommunen, actor)
    publish_meetings_artifact([result["year"]])
    publish_events()
    return result


@flow(name="meeting-series", description="Die Terminreihen des Jahres aus der Richtlinie anlegen (idempotent)")
def meeting_series(year: Year, actor: Actor = "prefect-ui") -> dict[str, Any]:
    result = generate_series_task(year, actor)
    publish_meetings_artifact([year])
    publish_events()
    return result


@flow(name="meeting-move", description="Einen Termin verschieben; die Aktualisierung verschickt meeting-notify")
def meeting_move(meeting_id: MeetingId, start: datetime, end: datetime, actor: Actor = "prefect-ui") -> dict[str, Any]:
    result = move_meeting_task(meeting_id, start, end, actor)
    publish_meetings_artifact([result["year"]])
    publish_events()
    return result


@flow(name="meeting-cancel", description="Einen Termin absagen; die Absage verschickt meeting-notify")
def meeting_cancel(
    meeting_id: MeetingId,
    reason: Annotated[str, Field(min_length=1, max_length=1000)],
    actor: Actor = "prefect-ui",
) -> dict[str, Any]:
    result = cancel_meeting_task(meeting_id, reason, actor)
    publish_meetings_artifact([result["year"]])
    publish_events()
    return result


@flow(name="meeting-attendance", description="Teilnahme je Kommune erfassen, optional das Protokoll versenden")
def meeting_attendance(attendance: Attendance, actor: Actor = "prefect-ui") -> dict[str, Any]:
    result: dict[str, Any] = {"meeting_id": attendance.meeting_id}
    if attendance.present or attendance.absent or not attendance.minutes:
        result |= record_attendance_task(attendance.meeting_id, attendance.present, attendance.absent, actor)
    if attendance.minutes:
        result |= attach_minutes_task(attendance.meeting_id, attendance.minutes, attendance.summary, actor)
    publish_meetings_artifact([result["year"]])
    publish_events()
    return result


@flow(name="meeting-notify", description="Einladung, Aktualisierung oder Absage eines Termins versenden")
def meeting_notify(meeting_id: MeetingId) -> dict[str, Any]:
    """Triggered by ``kim.meeting.*`` events; a re-run sends nothing twice."""
    result = notify_meeting_task(meeting_id)
    result["dispatch"] = dispatch_outbox()
    publish_meetings_artifact([result["year"]])
    publish_events()
    return result


@flow(name="meeting-reminders", description="Terminerinnerungen (7 und 1 Tag vorher) planen und versenden")
def meeting_reminders(today: date | None = None, dry_run: bool = False) -> dict[str, Any]:
    """``today`` defaults to the current day in Europe/Berlin; a second run on the same day sends nothing twice."""
    day = today or local_today()
    result = plan_meeting_reminders_task(day, dry_run)
    result["dispatch"] = None if dry_run else dispatch_outbox()
    publish_meetings_artifact(sorted({day.year, *result["years"]}))
    return result
