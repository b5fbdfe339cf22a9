"""The retention rules: months added at month ends, when a year closes, and the day data becomes due."""

from __future__ import annotations

from datetime import date

import pytest

from kim_workflow.core.retention import (
    RetentionCounts,
    add_months,
    deletion_due_on,
    is_due,
    is_pseudonym,
    pseudonym_address,
    year_closed_on,
)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2027, 1, 1), 0, date(2027, 1, 1)),
        (date(2027, 1, 1), 1, date(2027, 2, 1)),
        (date(2027, 1, 31), 1, date(2027, 2, 28)),  # clamped to the shorter month
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2027, 3, 31), 1, date(2027, 4, 30)),
        (date(2027, 12, 1), 1, date(2028, 1, 1)),  # over the year boundary
        (date(2027, 1, 1), 12, date(2028, 1, 1)),
        (date(2027, 1, 1), 60, date(2032, 1, 1)),
        (date(2027, 2, 28), 12, date(2028, 2, 28)),
    ],
)
def test_add_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize(
    ("last_deadline", "expected"),
    [
        (None, date(2027, 1, 1)),  # no deliverables: the day after 31 December
        (date(2026, 12, 15), date(2027, 1, 1)),
        (date(2026, 12, 31), date(2027, 1, 1)),
        (date(2027, 1, 1), date(2027, 1, 2)),  # an extension past the year end keeps the year open
        (date(2027, 4, 14), date(2027, 4, 15)),
    ],
)
def test_a_year_closes_the_day_after_its_last_deadline_or_year_end(last_deadline: date | None, expected: date) -> None:
    assert year_closed_on(2026, last_deadline) == expected


@pytest.mark.parametrize(
    ("today", "due"),
    [
        (date(2027, 12, 31), False),  # the day before
        (date(2028, 1, 1), True),  # the day itself
        (date(2028, 1, 2), True),  # the day after
    ],
)
def test_due_exactly_at_the_month_boundary(today: date, due: bool) -> None:
    closed = year_closed_on(2026, None)
    assert deletion_due_on(closed, 12) == date(2028, 1, 1)
    assert is_due(closed, 12, today) is due


def test_zero_months_means_due_on_the_closing_day() -> None:
    closed = date(2027, 1, 1)
    assert (is_due(closed, 0, date(2026, 12, 31)), is_due(closed, 0, closed)) == (False, True)


def test_pseudonym_addresses_are_unique_undeliverable_and_recognised() -> None:
    assert pseudonym_address(7) == "geloescht-7@kim.invalid" != pseudonym_address(8)
    assert is_pseudonym(pseudonym_address(7))
    assert not is_pseudonym("geloescht-7@kim.invalid.de")
    assert not is_pseudonym("im@kreis.de")


def test_counts_payload_holds_numbers_only() -> None:
    counts = RetentionCounts(contacts_pseudonymised=2, emails_scrubbed=3, upload_files_deleted=4, upload_years=(2020,))
    assert counts.total == 9
    assert counts.as_payload() == {
        "contacts_pseudonymised": 2, "emails_scrubbed": 3, "upload_files_deleted": 4, "upload_years": [2020],
    }  # fmt: skip
