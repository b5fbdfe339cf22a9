"""Amounts and dates as an official types them: German notation, ISO as well, German errors."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from kim_workflow.core.german_input import parse_amount, parse_date, parse_datetime, parse_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45.000,00", "45000.00"),
        ("45000", "45000.00"),
        ("45.000", "45000.00"),
        ("45000,5", "45000.50"),
        ("45000.50", "45000.50"),
        (" 1.234.567,89 € ", "1234567.89"),
        ("12.000,50 EUR", "12000.50"),
        ("0", "0.00"),
    ],
)
def test_amounts_in_german_or_plain_notation_become_cents(text: str, expected: str) -> None:
    value = parse_amount(text)
    assert value == Decimal(expected) and value.as_tuple().exponent == -2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-5", "darf nicht negativ sein"),
        ("45,123", "mehr als 2 Nachkommastellen"),
        ("0.500", "mehr als 2 Nachkommastellen"),
        ("45k", "Kein gültiger Betrag"),
        ("abc", "Kein gültiger Betrag"),
        ("12,000.50", "Kein gültiger Betrag"),
        ("1.000.5", "Kein gültiger Betrag"),
        ("1e5", "Kein gültiger Betrag"),
        ("٤٥", "Kein gültiger Betrag"),
        ("", "Bitte einen Betrag eingeben"),
        ("9" * 30, "zu groß"),
    ],
)
def test_bad_amounts_are_refused_in_german(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_amount(text)


def test_without_grouping_a_dot_is_always_a_decimal_point() -> None:
    def fte(text: str) -> Decimal:
        return parse_number(text, places=None, what="Stellenanteil", example="0,5", grouping=False)

    assert (fte("0,5"), fte("0.500"), fte("1")) == (Decimal("0.5"), Decimal("0.5"), Decimal("1"))
    with pytest.raises(ValueError, match="Kein gültiger Stellenanteil"):
        fte("1.000,5")


@pytest.mark.parametrize("text", ["15.12.2026", "15.12.2026 ", "2026-12-15"])
def test_dates_in_german_order_or_iso(text: str) -> None:
    assert parse_date(text) == date(2026, 12, 15)


def test_single_digit_day_and_month() -> None:
    assert parse_date("1.2.2026") == date(2026, 2, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [("31.02.2026", "gibt es nicht"), ("15/12/2026", "TT.MM.JJJJ"), ("12.15.2026", "gibt es nicht"), ("", "TT.MM")],
)
def test_bad_dates_are_refused_in_german(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_date(text)


@pytest.mark.parametrize("text", ["10.06.2026 10:00", "10.06.2026, 10:00 Uhr", "2026-06-10T10:00", "2026-06-10 10:00"])
def test_times_in_german_order_or_iso_are_local(text: str) -> None:
    assert parse_datetime(text) == datetime(2026, 6, 10, 10, 0)


@pytest.mark.parametrize("text", ["10.06.2026", "10.06.2026 25:00", "morgen 10 Uhr", "2026-06-10T25:00"])
def test_bad_times_are_refused_in_german(text: str) -> None:
    with pytest.raises(ValueError, match=r"Zeitpunkt|Uhrzeit"):
        parse_datetime(text)
