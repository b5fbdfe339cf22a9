"""German formatting helpers used by the email templates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from kim_workflow.core.domain import DeliverableKind, MeetingType, Organiser
from kim_workflow.core.money import format_eur
from kim_workflow.email.formatting import (
    FILTERS,
    deliverable_label,
    format_date_long,
    format_date_short,
    format_datetime_long,
    format_meeting_when,
    format_time_range,
    join_de,
    meeting_type_label,
    organiser_label,
    plural,
    salutation,
)

BERLIN = ZoneInfo("Europe/Berlin")


def test_long_and_short_dates() -> None:
    assert format_date_long(date(2026, 12, 15)) == "Dienstag, 15. Dezember 2026"
    assert format_date_long(date(2026, 6, 10)) == "Mittwoch, 10. Juni 2026"
    assert format_date_short(date(2026, 12, 15)) == "15.12.2026"
    assert format_date_short(date(2027, 1, 8)) == "08.01.2027"


def test_datetime_is_converted_to_local_date_first() -> None:
    late_utc = datetime(2026, 12, 14, 23, 30, tzinfo=UTC)  # already 15 December in Berlin
    assert format_date_long(late_utc, "Europe/Berlin") == "Dienstag, 15. Dezember 2026"
    assert format_date_short(late_utc, "Europe/Berlin") == "15.12.2026"


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Decimal("60000"), "60.000,00 €"),
        (Decimal("80000.00"), "80.000,00 €"),
        (Decimal("1234.5"), "1.234,50 €"),
        (Decimal("0.5"), "0,50 €"),
        (20000, "20.000,00 €"),
        (Decimal("0.005"), "0,01 €"),  # commercial rounding (half up), as in the funding checks
        (Decimal("2.675"), "2,68 €"),
    ],
)
def test_eur_uses_german_separators_and_a_regular_space(amount: Decimal | int, expected: str) -> None:
    text = format_eur(amount)
    assert text == expected
    assert "\u00a0" not in text and "\u202f" not in text


def test_time_range_is_local_time() -> None:
    start = datetime(2026, 6, 10, 10, 0, tzinfo=BERLIN)
    end = datetime(2026, 6, 10, 15, 0, tzinfo=BERLIN)
    assert format_time_range(start, end, "Europe/Berlin") == "10:00–15:00 Uhr"
    utc_start, utc_end = datetime(2026, 6, 10, 8, 0, tzinfo=UTC), datetime(2026, 6, 10, 13, 0, tzinfo=UTC)
    assert format_time_range(utc_start, utc_end, BERLIN) == "10:00–15:00 Uhr"
    assert format_time_range(datetime(2026, 6, 10, 10), datetime(2026, 6, 10, 15), "Europe/Berlin") == (
        "10:00–15:00 Uhr"
    )


def test_meeting_when_one_day_and_several_days() -> None:
    start = datetime(2026, 6, 10, 10, 0, tzinfo=BERLIN)
    assert format_meeting_when(start, start.replace(hour=15), "Europe/Berlin") == (
        "Mittwoch, 10. Juni 2026, 10:00–15:00 Uhr"
    )
    assert format_meeting_when(start, datetime(2026, 6, 11, 13, 0, tzinfo=BERLIN), "Europe/Berlin") == (
        "Mittwoch, 10. Juni 2026, 10:00 Uhr bis Donnerstag, 11. Juni 2026, 13:00 Uhr"
    )


def test_datetime_long() -> None:
    value = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    assert format_datetime_long(value, "Europe/Berlin") == "Dienstag, 1. Dezember 2026, 09:30 Uhr"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Frau Dr. Müller", "Sehr geehrte Frau Dr. Müller,"),
        ("Herr Schmidt", "Sehr geehrter Herr Schmidt,"),
        ("Alex Beispiel", "Guten Tag Alex Beispiel,"),
        ("  Frau   Anna  Müller ", "Sehr geehrte Frau Müller,"),
        ("Frau Dr. Anna Müller", "Sehr geehrte Frau Dr. Müller,"),
        ("Frauke Meier", "Guten Tag Frauke Meier,"),
        ("Herrmann Kurz", "Guten Tag Herrmann Kurz,"),
        (None, "Sehr geehrte Damen und Herren,"),
        ("", "Sehr geehrte Damen und Herren,"),
        ("   ", "Sehr geehrte Damen und Herren,"),
    ],
)
def test_salutation(name: str | None, expected: str) -> None:
    assert salutation(name) == expected


@pytest.mark.parametrize(
    ("name", "anrede", "titel", "expected"),
    [
        ("Anna Müller", "Frau", "Dr.", "Sehr geehrte Frau Dr. Müller,"),
        ("Jonas Schmidt", "Herr", None, "Sehr geehrter Herr Schmidt,"),
        ("Jürgen Müller", None, None, "Guten Tag Jürgen Müller,"),
        ("Kim Weber", None, "Prof. Dr.", "Guten Tag Prof. Dr. Kim Weber,"),
        ("Ursula von der Leyen", "Frau", None, "Sehr geehrte Frau von der Leyen,"),
        ("Karl-Theodor zu Guttenberg", "Herr", "Dr.", "Sehr geehrter Herr Dr. zu Guttenberg,"),
        ("Vincent van Gogh", "Herr", None, "Sehr geehrter Herr van Gogh,"),
        ("Maria de la Cruz", "Frau", None, "Sehr geehrte Frau de la Cruz,"),
        ("von Weizsäcker", "Herr", None, "Sehr geehrter Herr von Weizsäcker,"),
        ("Hans-Peter Müller-Lüdenscheid", "Herr", None, "Sehr geehrter Herr Müller-Lüdenscheid,"),
        ("Dr. Anna Müller", "Frau", "Dr.", "Sehr geehrte Frau Dr. Müller,"),  # the title written twice counts once
        ("Prof. Dr. Anna Müller", "Frau", None, "Sehr geehrte Frau Prof. Dr. Müller,"),
        ("Müller", "Frau", None, "Sehr geehrte Frau Müller,"),
        (None, "Frau", "Dr.", "Sehr geehrte Damen und Herren,"),
        ("", None, None, "Sehr geehrte Damen und Herren,"),
    ],
)
def test_salutation_with_anrede_and_titel(
    name: str | None, anrede: str | None, titel: str | None, expected: str
) -> None:
    assert salutation(name, anrede, titel) == expected


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, "0 E-Mails"), (1, "1 E-Mail"), (2, "2 E-Mails"), (21, "21 E-Mails"), (1000, "1.000 E-Mails")],
)
def test_plural_follows_the_german_rule(count: int, expected: str) -> None:
    assert plural(count, "E-Mail", "E-Mails") == expected


def test_plural_and_join() -> None:
    assert plural(1, "Tag", "Tage") == "1 Tag"
    assert plural(3, "Tag", "Tage") == "3 Tage"
    assert plural(0, "Tag", "Tage") == "0 Tage"
    assert join_de([]) == ""
    assert join_de(["Jahresbericht"]) == "Jahresbericht"
    assert join_de(["Jahresbericht", "Fragebogen"]) == "Jahresbericht und Fragebogen"
    assert join_de(["A", "B", "C"]) == "A, B und C"


def test_labels_accept_enums_and_values() -> None:
    assert deliverable_label(DeliverableKind.ANNUAL_REPORT) == "Jahresbericht"
    assert deliverable_label("questionnaire") == "Fragebogen"
    assert meeting_type_label(MeetingType.FACHVERANSTALTUNG) == "Fachveranstaltung"
    assert meeting_type_label("other") == "Termin"
    assert organiser_label(Organiser.DBKI) == "DBKI"
    assert "Fachreferat" in organiser_label("fachreferat")


def test_every_helper_is_a_filter() -> None:
    expected = {"date_long", "date_short", "eur", "time_range", "salutation", "meeting_when", "datetime_long"}
    assert expected <= set(FILTERS)


def test_templates_use_the_one_money_formatter() -> None:
    assert FILTERS["eur"] is format_eur
