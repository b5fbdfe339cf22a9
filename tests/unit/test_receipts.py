"""The receipt-date rule: refused before the funding year or after today, remarked before the regular start."""

from __future__ import annotations

from datetime import date

import pytest

from kim_workflow.core.policy import PolicyError, parse_policy
from kim_workflow.core.receipts import ReceiptRefused, receipt_remark

DECEMBER = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("received", "today", "expected"),
    [
        (date(2026, 11, 30), date(2026, 12, 20), "Vorzeitig eingegangen am 30.11.2026"),
        (date(2026, 1, 1), date(2026, 12, 20), "regulär werden die Unterlagen ab dem 01.12.2026"),
        (date(2026, 12, 1), date(2026, 12, 20), None),
        (date(2026, 12, 15), date(2026, 12, 20), None),
        (date(2026, 12, 16), date(2026, 12, 20), None),
        (date(2027, 1, 10), date(2027, 1, 10), None),
        (date(2026, 12, 20), date(2026, 12, 20), None),
    ],
)
def test_a_receipt_is_regular_or_remarked(received: date, today: date, expected: str | None) -> None:
    remark = receipt_remark(received, year=2026, today=today, regular_from=DECEMBER)
    assert remark == expected if expected is None else expected in (remark or "")


@pytest.mark.parametrize(
    ("received", "today", "message"),
    [
        (date(2025, 12, 31), date(2026, 12, 20), "liegt vor dem Förderjahr 2026 (frühestens 01.01.2026)"),
        (date(2026, 12, 21), date(2026, 12, 20), "liegt in der Zukunft (heute: 20.12.2026)"),
        (date(2027, 1, 11), date(2027, 1, 10), "liegt in der Zukunft"),
    ],
)
def test_a_receipt_before_the_year_or_after_today_is_refused(received: date, today: date, message: str) -> None:
    with pytest.raises(ReceiptRefused, match=message.replace("(", r"\(").replace(")", r"\)")):
        receipt_remark(received, year=2026, today=today, regular_from=DECEMBER)


def test_the_regular_start_is_read_from_the_policy_and_checked() -> None:
    assert parse_policy(2026, {}).report.regular_receipt_start(2026) == DECEMBER
    custom = parse_policy(2026, {"report": {"regular_receipt_from": "--11-15"}})
    assert custom.report.regular_receipt_start(2026) == date(2026, 11, 15)
    for value, message in [
        ("2026-12-01", "erwartet Monat und Tag"),
        ("--02-30", "kein Datum"),
        ("--12-16", "liegt nach der Abgabefrist"),
    ]:
        with pytest.raises(PolicyError, match=message):
            parse_policy(2026, {"report": {"regular_receipt_from": value}})
