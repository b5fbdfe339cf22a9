"""The tables of the year's evaluation pack, read from the database: status matrix, grants against the budget,
meeting attendance per Kommune, and the event log without email addresses."""

from __future__ import annotations

import json
from datetime import date

from sqlmodel import Session, col, select

from kim_workflow.core.evaluation import Cell
from kim_workflow.core.evaluation_tables import Table
from kim_workflow.core.money import format_eur
from kim_workflow.core.redaction import scrub, scrub_text
from kim_workflow.db.models import DomainEvent, Kommune, Meeting, MeetingAttendance
from kim_workflow.services import applications, status
from kim_workflow.services.decisions import rules_for
from kim_workflow.settings import Settings


def status_table(session: Session, *, year: int, today: date) -> Table:
    rows = status.as_table(status.status_matrix(session, year=year, today=today))
    heading = tuple(status.COLUMNS_DE.values())
    return Table("status", f"Status {year}", heading, tuple(tuple(row[h] for h in heading) for row in rows))


def grants_table(session: Session, *, year: int) -> Table:
    """Requested and granted amounts per Kommune, then the totals and the year's budget ceiling."""
    rows = applications.overview(session, year=year)
    heading = ("AGS", "Kommune", "Status", "beantragt Personal", "beantragt Sachkosten", "bewilligt Personal",
               "bewilligt Sachkosten", "bewilligt gesamt")  # fmt: skip
    body = [
        (r.ags, r.kommune, applications.STATUS_LABELS[r.status] if r.status else applications.NO_APPLICATION,
         r.requested_personnel, r.requested_material, r.granted_personnel, r.granted_material,
         r.granted_total if r.granted_personnel is not None or r.granted_material is not None else None)
        for r in rows
    ]  # fmt: skip
    return Table("zuwendungen", f"Zuwendungen {year}", heading, tuple(body))


def budget_table(session: Session, settings: Settings, *, year: int) -> Table:
    state = applications.budget_state(session, year=year, rules=rules_for(settings, year))
    rows = (
        ("Jahresbudget", state.ceiling, format_eur(state.ceiling) if state.ceiling is not None else "nicht festgelegt"),
        ("bewilligt", state.granted, format_eur(state.granted)),
        ("verbleibend", state.left, format_eur(state.left) if state.left is not None else "—"),
    )
    return Table("budget", f"Budget {year}", ("Posten", "Betrag (EUR)", "Betrag"), rows)


def attendance_table(session: Session, *, year: int) -> Table:
    """One row per Kommune, one column per meeting of the year (ja / nein / empty: not recorded), and the count."""
    meetings = session.exec(
        select(Meeting).where(col(Meeting.year) == year).order_by(col(Meeting.starts_at), col(Meeting.id))
    ).all()
    ids = [m.id for m in meetings]
    attended = {
        (a.meeting_id, a.kommune_id): a.attended
        for a in session.exec(select(MeetingAttendance).where(col(MeetingAttendance.meeting_id).in_(ids)))
    }
    heading = ("AGS", "Kommune", *(f"{m.starts_at:%d.%m.%Y} {m.title}" for m in meetings), "Teilnahmen")
    body: list[tuple[Cell, ...]] = []
    for kommune in session.exec(select(Kommune).order_by(col(Kommune.ags))):
        marks = [attended.get((m.id or 0, kommune.id or 0)) for m in meetings]
        if not kommune.active and all(mark is None for mark in marks):
            continue
        cells = ["" if mark is None else "ja" if mark else "nein" for mark in marks]
        body.append((kommune.ags, kommune.name, *cells, sum(1 for mark in marks if mark)))
    return Table("teilnahme", f"Teilnahme {year}", heading, tuple(body))


def event_log_lines(session: Session, *, year: int) -> bytes:
    """The year's domain events as JSON lines (id order), every email address removed (actor, ids, payload)."""
    lines = []
    for event in session.exec(select(DomainEvent).where(col(DomainEvent.year) == year).order_by(col(DomainEvent.id))):
        record = {
            "id": event.id,
            "uuid": event.uuid,
            "occurred_at": event.occurred_at.isoformat(),
            "actor": scrub_text(event.actor),
            "action": event.action,
            "subject_type": event.subject_type,
            "subject_id": scrub_text(event.subject_id),
            "year": event.year,
            "payload": scrub(event.payload),
        }
        lines.append(json.dumps(record, ensure_ascii=False, sort_keys=True))
    return ("\n".join(lines) + "\n" if lines else "").encode("utf-8")
