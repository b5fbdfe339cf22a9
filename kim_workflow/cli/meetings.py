"""``kim meeting …``: add, series, move, cancel, decline, attendance, minutes, notify, reminders, list.

Adding, moving and cancelling only store the change and its event; the triggered flow ``meeting-notify`` sends
the emails (``kim meeting notify ID`` does the same at once, e.g. without a Prefect server).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from kim_workflow.cli.common import (
    EXIT_BAD_INPUT,
    ID_MAX,
    Actor,
    Year,
    console,
    dispatch_now,
    err,
    parse_day,
    ready_app,
    today_in,
    use_case,
    utc_now,
)
from kim_workflow.cli.errors import KimGroup, os_reason
from kim_workflow.cli.lazy import lazy_module
from kim_workflow.core.domain import MeetingType, Organiser

if TYPE_CHECKING:
    from kim_workflow.app import App
    from kim_workflow.core import meetings as core_meetings
    from kim_workflow.db.models import Meeting
    from kim_workflow.email import formatting
    from kim_workflow.services import meeting_notifications as notifications
    from kim_workflow.services import meetings as meeting_service
else:
    formatting = lazy_module("kim_workflow.email.formatting")
    core_meetings = lazy_module("kim_workflow.core.meetings")
    notifications = lazy_module("kim_workflow.services.meeting_notifications")
    meeting_service = lazy_module("kim_workflow.services.meetings")

meeting_app = typer.Typer(
    cls=KimGroup, help="Termine: Vernetzungstreffen, Arbeitstreffen, Fachveranstaltungen.", no_args_is_help=True
)

MeetingId = Annotated[int, typer.Argument(min=1, max=ID_MAX, help="Nummer des Termins (siehe kim meeting list)")]
Start = Annotated[str, typer.Option("--start", help="Beginn, Ortszeit: JJJJ-MM-TT HH:MM")]
End = Annotated[str, typer.Option("--end", help="Ende, Ortszeit: JJJJ-MM-TT HH:MM")]
FOLLOWS = "Der Versand folgt über den Ablauf meeting-notify (ohne Prefect-Server: kim meeting notify {id})."


@meeting_app.command("add")
def add(
    type_: Annotated[MeetingType, typer.Option("--type", help="Art des Termins")],
    title: Annotated[str, typer.Option(help="Titel")],
    start: Start,
    end: End,
    location: Annotated[str | None, typer.Option(help="Ort")] = None,
    video_link: Annotated[str | None, typer.Option("--video-link", help="Link zur Videokonferenz")] = None,
    agenda: Annotated[str | None, typer.Option(help="Tagesordnung, ein Punkt je Zeile")] = None,
    agenda_file: Annotated[Path | None, typer.Option("--agenda-file", help="Tagesordnung aus Textdatei")] = None,
    organiser: Annotated[Organiser, typer.Option(help="Veranstalter")] = Organiser.FACHREFERAT,
    kommunen: Annotated[str | None, typer.Option(help="Nur diese Kommunen: AGS,AGS (regional)")] = None,
    actor: Actor = "cli",
) -> None:
    """Add one meeting; all integration managers, DBKI and ministry are invited (or only ``--kommunen``)."""
    kim = ready_app()
    text = _read_text(agenda_file) if agenda_file else agenda
    begin, finish = _parse_time(start, "--start"), _parse_time(end, "--end")
    only = _ags_list(kommunen, "--kommunen") if kommunen is not None else None
    with use_case(kim) as session:
        aware = core_meetings.as_aware
        tz = kim.settings.tz
        draft = core_meetings.MeetingDraft(
            type_, title, aware(begin, tz), aware(finish, tz), location, video_link, text, organiser
        )
        meeting = meeting_service.add_meeting(
            session, kim.settings, draft=draft, kommunen=only, now=utc_now(), actor=actor
        )
        invited = len(notifications.invitees(session, meeting.id or 0))
    console.print(f"Termin {meeting.id} angelegt: {_when(kim, meeting)}, {invited} Eingeladene.")
    _warn_if_no_working_day(kim, meeting)
    if not invited:
        err.print("[yellow]Niemand eingeladen: keine aktive Ansprechperson gefunden.[/]")
    console.print(FOLLOWS.format(id=meeting.id))
    publish_events(kim)


@meeting_app.command("series")
def series(year: Year, actor: Actor = "cli") -> None:
    """Create the year's series meetings from the policy (idempotent: a second run adds nothing)."""
    kim = ready_app()
    with use_case(kim) as session:
        result = meeting_service.generate_series(session, kim.settings, year=year, now=utc_now(), actor=actor)
        for meeting in result.created:
            console.print(f"  {meeting.id}: {meeting.title}, {_when(kim, meeting)}", markup=False)
    console.print(
        f"{len(result.created)} Termine angelegt, {result.existing} bestanden schon, "
        f"{result.past} lägen in der Vergangenheit."
    )
    if result.created:
        console.print("Die Einladungen verschickt der Ablauf meeting-notify je Termin.")
    publish_events(kim)


@meeting_app.command("move")
def move(
    meeting_id: MeetingId,
    start: Start,
    end: End,
    location: Annotated[str | None, typer.Option(help="Neuer Ort (leer lassen: unverändert)")] = None,
    video_link: Annotated[str | None, typer.Option("--video-link", help="Neuer Link (unverändert, wenn leer)")] = None,
    actor: Actor = "cli",
) -> None:
    """Move a meeting: same calendar entry, next version; invitees get an update."""
    kim = ready_app()
    begin, finish = _parse_time(start, "--start"), _parse_time(end, "--end")
    keep = meeting_service.KEEP
    with use_case(kim) as session:
        tz, aware = kim.settings.tz, core_meetings.as_aware
        meeting = meeting_service.move_meeting(
            session, kim.settings, meeting_id=meeting_id, start=aware(begin, tz), end=aware(finish, tz),
            location=location if location is not None else keep,
            video_link=video_link if video_link is not None else keep, now=utc_now(), actor=actor,
        )  # fmt: skip
    console.print(f"Termin {meeting_id} verschoben auf {_when(kim, meeting)} (Version {meeting.sequence}).")
    _warn_if_no_working_day(kim, meeting)
    console.print(FOLLOWS.format(id=meeting_id))
    publish_events(kim)


@meeting_app.command("cancel")
def cancel(
    meeting_id: MeetingId,
    reason: Annotated[str, typer.Option(help="Grund der Absage (steht in der E-Mail)")],
    actor: Actor = "cli",
) -> None:
    """Cancel a meeting; invitees get a cancellation that removes it from their calendars."""
    kim = ready_app()
    with use_case(kim) as session:
        meeting_service.cancel_meeting(session, meeting_id=meeting_id, reason=reason, now=utc_now(), actor=actor)
    console.print(f"Termin {meeting_id} abgesagt.")
    console.print(FOLLOWS.format(id=meeting_id))
    publish_events(kim)


@meeting_app.command("decline")
def decline(
    meeting_id: MeetingId,
    email: Annotated[str, typer.Option(help="E-Mail-Adresse der eingeladenen Person")],
    undo: Annotated[bool, typer.Option("--undo", help="Absage zurücknehmen")] = False,
    actor: Actor = "cli",
) -> None:
    """Record that an invitee declined: no reminders for them."""
    kim = ready_app()
    with use_case(kim) as session:
        meeting_service.record_decline(
            session, meeting_id=meeting_id, email=email, declined=not undo, now=utc_now(), actor=actor
        )
    console.print(f"Absage für Termin {meeting_id} {'zurückgenommen' if undo else 'erfasst'}.")
    publish_events(kim)


@meeting_app.command("attendance")
def attendance(
    meeting_id: MeetingId,
    present: Annotated[str, typer.Option(help="Anwesende Kommunen: AGS,AGS")] = "",
    absent: Annotated[str, typer.Option(help="Fehlende Kommunen: AGS,AGS")] = "",
    actor: Actor = "cli",
) -> None:
    """Record per Kommune whether it attended (counts in the status matrix)."""
    kim = ready_app()
    with use_case(kim) as session:
        recorded = meeting_service.record_attendance(
            session, meeting_id=meeting_id, present=_ags_list(present), absent=_ags_list(absent),
            now=utc_now(), actor=actor,
        )  # fmt: skip
    present_count = sum(recorded.values())
    console.print(f"Teilnahme erfasst: {present_count} anwesend, {len(recorded) - present_count} abwesend.")
    publish_events(kim)


@meeting_app.command("minutes")
def minutes(
    meeting_id: MeetingId,
    file: Annotated[Path | None, typer.Option(help="Protokolldatei (wird angehängt)")] = None,
    link: Annotated[str | None, typer.Option(help="Link zum Protokoll (steht im Text)")] = None,
    summary: Annotated[str | None, typer.Option(help="Ergebnisse in Kürze (optional)")] = None,
    actor: Actor = "cli",
) -> None:
    """Attach the minutes and queue them to every invitee."""
    kim = ready_app()
    with use_case(kim) as session:
        queued = notifications.attach_minutes(
            session, kim.settings, meeting_id=meeting_id, file=file, link=link, summary=summary,
            now=utc_now(), actor=actor,
        )  # fmt: skip
    emails = formatting.plural(queued, "E-Mail", "E-Mails")
    console.print(f"Protokoll gespeichert; {emails} neu im Postausgang. " + FOLLOWS.format(id=meeting_id))
    publish_events(kim)


@meeting_app.command("notify")
def notify(meeting_id: MeetingId) -> None:
    """Queue and send the invitation, update or cancellation now (what the flow meeting-notify does)."""
    kim = ready_app()
    with use_case(kim) as session:
        result = notifications.notify_meeting(session, kim.settings, meeting_id=meeting_id, now=utc_now())
    planned = ", ".join(f"{n} × {kind}" for kind, n in sorted(result.counts.items())) or "nichts"
    console.print(f"Geplant: {planned}; {result.queued} neu im Postausgang.")
    dispatch_now(kim)
    publish_events(kim)


@meeting_app.command("reminders")
def reminders(
    today: Annotated[str | None, typer.Option(help="Stichtag JJJJ-MM-TT (Standard: heute)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Nur anzeigen; nichts ändern")] = False,
) -> None:
    """The day's meeting reminders (what the daily flow meeting-reminders does)."""
    kim = ready_app()
    day = parse_day(today, "--today") if today else today_in(kim)
    with use_case(kim) as session:
        run = notifications.plan_meeting_reminders(session, kim.settings, today=day, now=utc_now(), dry_run=dry_run)
        if dry_run:
            session.rollback()
    for email in run.emails:
        console.print(f"  {email.recipient}: {email.subject}", highlight=False, markup=False)
    console.print(f"{len(run.emails)} Erinnerungen {'würden geplant' if dry_run else 'geplant'}, {run.queued} neu.")
    if not dry_run:
        dispatch_now(kim)


@meeting_app.command("list")
def list_meetings(year: Year) -> None:
    """The year's meetings with status, invited, declined and attending counts."""
    kim = ready_app()
    with use_case(kim) as session:
        rows = meeting_service.overview(session, year)
    table = Table(title=f"Termine {year}")
    for column in ("Nr.", "Datum", "Titel", "Ort", "Status", "Eingeladen", "Abgesagt", "Teilgenommen"):
        table.add_column(column)
    for row in rows:
        m = row.meeting
        place = " / ".join(filter(None, [m.location, m.video_link])) or "—"
        status = f"{m.status.value} (v{m.sequence})"
        cells = (m.id, _when(kim, m), m.title, place, status, row.invited, row.declined, row.attended)
        table.add_row(*(escape(str(cell)) for cell in cells))
    console.print(table)


def _when(kim: App, meeting: Meeting) -> str:
    from kim_workflow.email.formatting import format_meeting_when

    return format_meeting_when(meeting.starts_at, meeting.ends_at, kim.settings.timezone)


def _warn_if_no_working_day(kim: App, meeting: Meeting) -> None:
    from kim_workflow.core.calendar import is_working_day, public_holidays

    day = meeting.starts_at.astimezone(kim.settings.tz).date()
    if not is_working_day(day):
        name = public_holidays(day.year).get(day, "Wochenende")
        err.print(f"[yellow]Hinweis:[/] {day:%d.%m.%Y} ist kein Arbeitstag in Rheinland-Pfalz ({name}).")


_LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")


def _parse_time(value: str, option: str) -> datetime:
    """Local wall-clock time ``YYYY-MM-DD HH:MM``, within the programme's years."""
    try:
        if not _LOCAL_TIME.fullmatch(value.strip()):
            raise ValueError(value)
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        err.print(f"Fehler: {option} erwartet JJJJ-MM-TT HH:MM, nicht {value!r}", markup=False, highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    parse_day(f"{moment:%Y-%m-%d}", option)  # the range check
    return moment


def _ags_list(value: str, option: str = "--present/--absent") -> list[str]:
    """AGS separated by commas; an option given but empty is refused (it would mean "all" or "none" by accident)."""
    items = [part.strip() for part in value.split(",") if part.strip()]
    if not items and (value or option == "--kommunen"):
        err.print(f"Fehler: {option} braucht mindestens einen AGS (AGS,AGS).", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    return items


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "nicht UTF-8-kodiert" if isinstance(exc, UnicodeDecodeError) else os_reason(exc)
        err.print(f"Fehler: Datei nicht lesbar: {path} ({reason})", markup=False, highlight=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def publish_events(kim: App) -> None:
    from kim_workflow.cli.common import publish_events as publish

    publish(kim)
