"""The markdown table of a year's meetings (the ``kim-meetings-<year>`` artifact)."""

from __future__ import annotations

from datetime import datetime

from kim_workflow.core.domain import MeetingStatus
from kim_workflow.db.models import Meeting
from kim_workflow.email.formatting import format_meeting_when, meeting_type_label
from kim_workflow.services import meetings as meeting_service


def meetings_markdown(rows: list[meeting_service.MeetingOverview], *, year: int, tz: str, now: datetime) -> str:
    """A German table of the year's meetings (pipes in texts escaped)."""
    lines = [f"# Termine {year}", ""]
    if not rows:
        return "\n".join([*lines, "Noch keine Termine.", ""])
    lines += [
        "| Nr. | Datum | Termin | Ort | Status | Eingeladen | Abgesagt | Teilgenommen (Kommunen) | Protokoll |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        m = row.meeting
        cells = [
            str(m.id),
            format_meeting_when(m.starts_at, m.ends_at, tz),
            f"{meeting_type_label(m.type)}: {m.title}",
            " / ".join(filter(None, [m.location, "Videokonferenz" if m.video_link else None])) or "—",
            _status_label(m),
            str(row.invited),
            str(row.declined),
            str(row.attended) if row.attended or m.starts_at <= now else "—",
            "ja" if m.minutes_ref else "—",
        ]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def _status_label(meeting: Meeting) -> str:
    if meeting.status is MeetingStatus.CANCELLED:
        return "abgesagt"
    return "geplant" if meeting.sequence == 0 else f"geplant (geändert, Version {meeting.sequence})"
