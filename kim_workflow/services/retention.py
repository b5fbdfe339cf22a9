"""Applying the retention policy: pseudonymise old contacts, drop old email bodies, delete old uploads.

What is due follows :mod:`kim_workflow.core.retention` and the ``[retention]`` table of each year's policy. One run
records a ``kim.retention.applied`` event with counts only; a second run finds nothing left (idempotent); a dry
run changes nothing and reports the same counts.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from kim_workflow.core.domain import OutboxStatus
from kim_workflow.core.retention import (
    PSEUDONYM_NAME,
    RetentionCounts,
    RetentionPolicy,
    is_due,
    is_pseudonym,
    pseudonym_address,
    year_closed_on,
)
from kim_workflow.core.years import YEAR_MAX, YEAR_MIN
from kim_workflow.db.events import record_event
from kim_workflow.db.models import Contact, Deliverable, OutboxMessage
from kim_workflow.services.errors import UseCaseError
from kim_workflow.services.policies import load_policy
from kim_workflow.settings import Settings

ACTOR = "system:retention"
SCRUBBED_STATUSES = (OutboxStatus.SENT, OutboxStatus.DISMISSED)  # failed/unknown wait for an operator
_YEAR_FOLDER = re.compile(r"\d{4}")
_CHUNK = 500


@dataclass(frozen=True)
class RetentionRun:
    today: date
    dry_run: bool
    counts: RetentionCounts


class _Years:
    """Closing day and retention policy of each year, read once per run."""

    def __init__(self, session: Session, settings: Settings) -> None:
        self._settings = settings
        rows = session.exec(select(Deliverable.year, func.max(Deliverable.due_date)).group_by(col(Deliverable.year)))
        self._last_deadline: dict[int, date] = dict(rows.all())
        self._policies: dict[int, RetentionPolicy] = {}

    def closed_on(self, year: int) -> date:
        return year_closed_on(year, self._last_deadline.get(year))

    def policy(self, year: int) -> RetentionPolicy:
        if year not in self._policies:
            self._policies[year] = load_policy(year, self._settings.policy_dir).retention
        return self._policies[year]


def apply_retention(
    session: Session, settings: Settings, *, today: date, now: datetime, dry_run: bool = False
) -> RetentionRun:
    """Delete or pseudonymise what is due on ``today``; the caller commits (the files are gone at once)."""
    years = _Years(session, settings)
    tz = settings.tz
    contacts = _due_contacts(session, years, tz, today)
    emails = _due_emails(session, years, tz, today)
    uploads = _due_upload_years(settings.data_dir / "uploads", years, today)
    files = {year: _files_in(folder) for year, folder in uploads.items()}
    counts = RetentionCounts(
        contacts_pseudonymised=len(contacts),
        emails_scrubbed=len(emails),
        upload_files_deleted=sum(files.values()),
        upload_years=tuple(sorted(uploads)),
    )
    if dry_run or (counts.total == 0 and not uploads):
        return RetentionRun(today, dry_run, counts)
    _pseudonymise(session, contacts, now)
    _scrub(session, emails)
    record_event(
        session, now=now, actor=ACTOR, action="kim.retention.applied", subject_type="retention",
        subject_id=today.isoformat(), payload=counts.as_payload(),
    )  # fmt: skip
    session.flush()
    for folder in uploads.values():
        try:
            shutil.rmtree(folder)
        except OSError as exc:
            raise UseCaseError(f"Ordner {folder} konnte nicht gelöscht werden: {exc.strerror or exc}") from None
    return RetentionRun(today, dry_run, counts)


def _local_year(moment: datetime, tz: ZoneInfo) -> int:
    return moment.astimezone(tz).year


def _due_contacts(session: Session, years: _Years, tz: ZoneInfo, today: date) -> list[int]:
    rows = session.exec(select(Contact.id, Contact.email, Contact.updated_at).where(col(Contact.active).is_(False)))
    due = []
    for contact_id, email, updated_at in rows.all():
        year = _local_year(updated_at, tz)
        months = years.policy(year).contacts_months
        if contact_id is not None and not is_pseudonym(email) and is_due(years.closed_on(year), months, today):
            due.append(contact_id)
    return due


def _due_emails(session: Session, years: _Years, tz: ZoneInfo, today: date) -> list[int]:
    rows = session.exec(
        select(OutboxMessage.id, OutboxMessage.created_at)
        .where(col(OutboxMessage.status).in_(SCRUBBED_STATUSES))
        .where(col(OutboxMessage.recipient) != "")
    )
    due = []
    for message_id, created_at in rows.all():
        year = _local_year(created_at, tz)
        if message_id is not None and is_due(years.closed_on(year), years.policy(year).email_bodies_months, today):
            due.append(message_id)
    return due


def _due_upload_years(root: Path, years: _Years, today: date) -> dict[int, Path]:
    if not root.is_dir():
        return {}
    due = {}
    for folder in root.iterdir():
        if folder.is_dir() and not folder.is_symlink() and _YEAR_FOLDER.fullmatch(folder.name):
            year = int(folder.name)
            if YEAR_MIN <= year <= YEAR_MAX and is_due(years.closed_on(year), years.policy(year).uploads_months, today):
                due[year] = folder
    return due


def _files_in(folder: Path) -> int:
    return sum(len(names) for _, _, names in os.walk(folder))


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _pseudonymise(session: Session, ids: list[int], now: datetime) -> None:
    for contact_id in ids:
        session.execute(
            sa.update(Contact)
            .where(col(Contact.id) == contact_id)
            .values(
                name=PSEUDONYM_NAME, email=pseudonym_address(contact_id), anrede=None, titel=None,
                undeliverable_reason=None, updated_at=now,
            )
        )  # fmt: skip


def _scrub(session: Session, ids: list[int]) -> None:
    for chunk in _chunks(ids):
        session.execute(
            sa.update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(chunk))
            .values(recipient="", cc=[], text_body="", html_body="", attachments=[], last_error=None)
        )
