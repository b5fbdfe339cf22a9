"""Retention of personal data after a funding year is closed (GDPR: keep only as long as needed).

A year ``Y`` counts as closed on the day after the later of 31 December ``Y`` and its last (possibly extended)
deadline. Data of that year is due for deletion ``N`` months later (``[retention]`` in the year's policy); a
month-end day moves to the last day of a shorter month (31 March + 1 month = 30 April).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

MAX_RETENTION_MONTHS = 600  # 50 years: anything longer is surely a typo
PSEUDONYM_NAME = "(gelöscht)"
PSEUDONYM_DOMAIN = "kim.invalid"  # RFC 2606: never delivered


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How many months after a year is closed its personal data is kept."""

    contacts_months: int = 12
    """Inactive contacts (the year of their last change): name and address pseudonymised, the row stays."""
    email_bodies_months: int = 12
    """Sent or dismissed emails (the year they were queued): body, recipients and attachments dropped."""
    uploads_months: int = 60
    """Files under ``<data dir>/uploads/<year>/``: deleted (funding records; shorten with the records office)."""


@dataclass(frozen=True, slots=True)
class RetentionCounts:
    """What one application of the policy changed (or would change): counts only, never personal data."""

    contacts_pseudonymised: int = 0
    emails_scrubbed: int = 0
    upload_files_deleted: int = 0
    upload_years: tuple[int, ...] = ()

    @property
    def total(self) -> int:
        return self.contacts_pseudonymised + self.emails_scrubbed + self.upload_files_deleted

    def as_payload(self) -> dict[str, object]:
        return {
            "contacts_pseudonymised": self.contacts_pseudonymised,
            "emails_scrubbed": self.emails_scrubbed,
            "upload_files_deleted": self.upload_files_deleted,
            "upload_years": list(self.upload_years),
        }


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, the day clamped to the target month's length."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def year_closed_on(year: int, last_deadline: date | None) -> date:
    """The first day on which funding year ``year`` counts as closed."""
    end = date(year, 12, 31)
    return max(end, last_deadline or end) + timedelta(days=1)


def deletion_due_on(closed_on: date, months: int) -> date:
    """The first day on which data kept ``months`` months after ``closed_on`` is due."""
    return add_months(closed_on, months)


def is_due(closed_on: date, months: int, today: date) -> bool:
    return today >= deletion_due_on(closed_on, months)


def pseudonym_address(contact_id: int) -> str:
    """The address a pseudonymised contact keeps: unique per row (the table's unique key), never deliverable."""
    return f"geloescht-{contact_id}@{PSEUDONYM_DOMAIN}"


def is_pseudonym(address: str) -> bool:
    return address.startswith("geloescht-") and address.endswith("@" + PSEUDONYM_DOMAIN)
