"""The year's status matrix: one row per Kommune, what operators see in Prefect and ``kim status``."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import date, datetime

from sqlmodel import Session, col, func, select

from kim_workflow.core.domain import DeliverableKind, DeliverableStatus, OutboxStatus
from kim_workflow.core.status import SETTLED, DeliverableView, DerivedStatus
from kim_workflow.db.models import Deliverable, Kommune, Meeting, MeetingAttendance, OutboxMessage
from kim_workflow.email.keys import deliverable_ref, refs_of_year
from kim_workflow.services.lookups import cycle_for

REMINDER_KINDS = ("deliverable_reminder", "overdue_notice")
UNDELIVERABLE_DE = " nicht zustellbar"  # "Erinnerung nicht zustellbar am 03.11.2026": nobody received it


@dataclass(frozen=True)
class StatusRow:
    ags: str
    kommune: str
    jahresbericht: str
    fragebogen: str
    letzte_erinnerung: str
    teilnahmen: int
    report_status: DerivedStatus
    questionnaire_status: DerivedStatus

    @property
    def missing_something(self) -> bool:
        return not {self.report_status, self.questionnaire_status} <= SETTLED

    @property
    def waived(self) -> bool:
        """Nothing is owed ("entfällt"): the application was rejected or withdrawn."""
        return self.report_status is DerivedStatus.WAIVED and self.questionnaire_status is DerivedStatus.WAIVED


COLUMNS_DE = {
    "ags": "AGS",
    "kommune": "Kommune",
    "jahresbericht": "Jahresbericht",
    "fragebogen": "Fragebogen",
    "letzte_erinnerung": "Letzte Erinnerung",
    "teilnahmen": "Teilnahmen an Treffen",
}


def status_matrix(session: Session, *, year: int, today: date) -> list[StatusRow]:
    """Four queries whatever the number of Kommunen."""
    cycle_for(session, year)
    deliverables: dict[tuple[int, DeliverableKind], Deliverable] = {
        (d.kommune_id, d.kind): d for d in session.exec(select(Deliverable).where(col(Deliverable.year) == year))
    }
    last_reminder = _last_reminders(session, year)
    attendance = _attendance_counts(session, year)
    rows = []
    for kommune in session.exec(select(Kommune).order_by(col(Kommune.ags))):
        report = deliverables.get((kommune.id or 0, DeliverableKind.ANNUAL_REPORT))
        questionnaire = deliverables.get((kommune.id or 0, DeliverableKind.QUESTIONNAIRE))
        if report is None or questionnaire is None:
            continue
        views = [
            DeliverableView(
                d.due_date, d.original_due_date, d.received_on, d.waived_reason, d.status is DeliverableStatus.WAIVED
            )
            for d in (report, questionnaire)
        ]
        sent = last_reminder.get(deliverable_ref(kommune.ags, year))
        rows.append(
            StatusRow(
                ags=kommune.ags,
                kommune=kommune.name,
                jahresbericht=views[0].label(today),
                fragebogen=views[1].label(today),
                letzte_erinnerung=f"{sent[1]} am {sent[0]:%d.%m.%Y}" if sent else "—",
                teilnahmen=attendance.get(kommune.id or 0, 0),
                report_status=views[0].status(today),
                questionnaire_status=views[1].status(today),
            )
        )
    return rows


def _last_reminders(session: Session, year: int) -> dict[str, tuple[datetime, str]]:
    rows = session.exec(
        select(OutboxMessage.subject_ref, OutboxMessage.kind, OutboxMessage.created_at, OutboxMessage.status)
        .where(col(OutboxMessage.kind).in_(REMINDER_KINDS), col(OutboxMessage.subject_ref).like(refs_of_year(year)))
        .where(col(OutboxMessage.status) != OutboxStatus.DISMISSED)
        .order_by(col(OutboxMessage.created_at), col(OutboxMessage.id))
    ).all()
    labels = {"deliverable_reminder": "Erinnerung", "overdue_notice": "Mahnung"}
    return {  # the last one refused for good reached nobody (a re-send to the next contact comes later)
        ref: (created, labels.get(kind, kind) + (UNDELIVERABLE_DE if status == OutboxStatus.FAILED.value else ""))
        for ref, kind, created, status in rows
    }


def _attendance_counts(session: Session, year: int) -> dict[int, int]:
    rows = session.exec(
        select(MeetingAttendance.kommune_id, func.count())
        .join(Meeting, col(Meeting.id) == col(MeetingAttendance.meeting_id))
        .where(col(Meeting.year) == year, col(MeetingAttendance.attended))
        .group_by(col(MeetingAttendance.kommune_id))
    ).all()
    return {kommune_id: int(count) for kommune_id, count in rows}


def as_table(rows: list[StatusRow]) -> list[dict[str, str | int]]:
    """Rows with German column names (for artifacts, the terminal and CSV)."""
    return [{COLUMNS_DE[k]: v for k, v in asdict(row).items() if k in COLUMNS_DE} for row in rows]


def to_csv(rows: list[StatusRow]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS_DE.values()))
    writer.writeheader()
    writer.writerows(as_table(rows))
    return out.getvalue()


def summary_markdown(rows: list[StatusRow], *, year: int, today: date) -> str:
    """Counts (of the Kommunen that owe their deliverables) and the overdue list, for the markdown artifact."""
    waived = [r for r in rows if r.waived]
    owed = [r for r in rows if not r.waived]
    overdue = [r for r in owed if DerivedStatus.OVERDUE in (r.report_status, r.questionnaire_status)]
    complete = sum(1 for r in owed if not r.missing_something)
    lines = [
        f"# Förderjahr {year}: Stand {today:%d.%m.%Y}",
        "",
        f"- Kommunen: **{len(owed)}**",
        f"- vollständig eingereicht: **{complete}**",
        f"- noch offen: **{len(owed) - complete}**",
        f"- überfällig: **{len(overdue)}**",
    ]
    if waived:
        lines.append(f"- entfällt (Antrag abgelehnt oder zurückgezogen): **{len(waived)}**")
    if overdue:
        lines += ["", "## Überfällig", "", "| AGS | Kommune | Jahresbericht | Fragebogen |", "|---|---|---|---|"]
        lines += [f"| {r.ags} | {r.kommune} | {r.jahresbericht} | {r.fragebogen} |" for r in overdue]
    return "\n".join(lines) + "\n"
