"""Meetings in the pure core: series over 2024–2030 (holidays, DST), reminder stages, input checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from kim_workflow.core.calendar import is_holiday, is_working_day
from kim_workflow.core.domain import MeetingType
from kim_workflow.core.meetings import (
    MeetingDraft,
    MeetingInputError,
    agenda_items,
    as_aware,
    avoid_holiday,
    check_draft,
    due_reminder,
    local_datetime,
    nth_weekday,
    reminder_day,
    series_occurrences,
)
from kim_workflow.core.policy import DEFAULT_SERIES, MeetingSeriesRule

BERLIN = ZoneInfo("Europe/Berlin")
YEARS = range(2024, 2031)


def rule(
    months: tuple[int, ...], weekday: int, nth: int, start: time = time(10, 0), title: str = "T"
) -> MeetingSeriesRule:
    return MeetingSeriesRule(MeetingType.OTHER, title, months, weekday, nth, start_time=start, end_time=time(15, 0))


@pytest.mark.parametrize("year", YEARS)
def test_default_series_fall_on_working_days_at_local_ten(year: int) -> None:
    for series in DEFAULT_SERIES:
        occurrences = series_occurrences(series, year, BERLIN)
        assert len(occurrences) == 4
        for o in occurrences:
            assert is_working_day(o.day) and o.day.year == year
            assert o.start.astimezone(BERLIN).time() == time(10, 0)
            assert o.end.astimezone(BERLIN).time() == series.end_time
            assert o.series_key.endswith(f"/{o.nominal.isoformat()}")


def test_quarterly_second_wednesday_of_2026() -> None:
    days = [o.day for o in series_occurrences(DEFAULT_SERIES[0], 2026, BERLIN)]
    assert days == [date(2026, 3, 11), date(2026, 6, 10), date(2026, 9, 9), date(2026, 11, 11)]


@pytest.mark.parametrize(
    ("year", "month", "utc_hour"),
    [(2024, 3, 9), (2026, 3, 8), (2027, 3, 8), (2024, 10, 9), (2026, 10, 9), (2027, 10, 8), (2030, 10, 9)],
)
def test_last_tuesday_of_march_and_october_stays_at_ten_local_across_dst(year: int, month: int, utc_hour: int) -> None:
    """Last Tuesday of March 2024 is before the change (CET), of March 2026 after it (CEST); October mirrors it."""
    (occurrence,) = series_occurrences(rule((month,), 1, -1), year, BERLIN)
    assert occurrence.start.astimezone(BERLIN).hour == 10
    assert occurrence.start.astimezone(UTC).hour == utc_hour


@pytest.mark.parametrize("year", YEARS)
def test_the_day_of_the_change_itself_keeps_local_times(year: int) -> None:
    for month in (3, 10):
        (occurrence,) = series_occurrences(rule((month,), 6, -1), year, BERLIN)  # last Sunday = the change
        assert occurrence.start.astimezone(BERLIN).time() == time(10, 0)
        assert occurrence.end - occurrence.start == timedelta(hours=5)


def test_a_local_time_skipped_by_the_change_is_refused() -> None:
    with pytest.raises(MeetingInputError, match="Zeitumstellung"):
        series_occurrences(rule((3,), 6, -1, start=time(2, 30)), 2026, BERLIN)
    with pytest.raises(MeetingInputError, match="Zeitumstellung"):
        as_aware(datetime(2026, 3, 29, 2, 30), BERLIN)
    assert as_aware(datetime(2026, 10, 25, 2, 30), BERLIN).utcoffset() == timedelta(hours=2)  # ambiguous: first


@pytest.mark.parametrize(
    ("months", "weekday", "nth", "year", "nominal", "moved_to"),
    [
        ((4,), 0, 1, 2024, date(2024, 4, 1), date(2024, 4, 2)),  # Ostermontag → Tuesday
        ((5,), 3, 2, 2024, date(2024, 5, 9), date(2024, 5, 10)),  # Christi Himmelfahrt → Friday
        ((1,), 2, 1, 2025, date(2025, 1, 1), date(2025, 1, 2)),  # Neujahr → Thursday
        ((10,), 4, 1, 2025, date(2025, 10, 3), date(2025, 10, 2)),  # Friday holiday: back to Thursday
        ((4,), 4, 1, 2026, date(2026, 4, 3), date(2026, 4, 2)),  # Karfreitag → Gründonnerstag
        ((6,), 3, 1, 2026, date(2026, 6, 4), date(2026, 6, 5)),  # Fronleichnam → Friday
        ((5,), 0, -1, 2026, date(2026, 5, 25), date(2026, 5, 26)),  # Pfingstmontag → Tuesday
    ],
)
def test_holidays_move_to_the_next_working_day_of_the_same_week(
    months: tuple[int, ...], weekday: int, nth: int, year: int, nominal: date, moved_to: date
) -> None:
    (occurrence,) = series_occurrences(rule(months, weekday, nth), year, BERLIN)
    assert (occurrence.nominal, occurrence.day, occurrence.moved) == (nominal, moved_to, True)
    assert occurrence.start == datetime.combine(moved_to, time(10, 0), tzinfo=BERLIN)


def test_every_weekday_rule_of_seven_years_lands_on_a_working_day_of_its_week() -> None:
    for year in YEARS:
        for month in range(1, 13):
            for weekday in range(5):
                for nth in (1, 2, 3, 4, -1):
                    nominal = nth_weekday(year, month, weekday, nth)
                    day = avoid_holiday(nominal)
                    assert nominal.weekday() == weekday and nominal.month == month
                    assert is_working_day(day) and day.isocalendar()[:2] == nominal.isocalendar()[:2]
                    assert (day == nominal) is not is_holiday(nominal)


def test_nth_weekday_counts_from_the_start_and_minus_one_is_the_last() -> None:
    assert nth_weekday(2026, 3, 2, 2) == date(2026, 3, 11)
    assert nth_weekday(2026, 2, 1, -1) == date(2026, 2, 24)
    assert nth_weekday(2026, 12, 3, 5) == date(2026, 12, 31)
    with pytest.raises(ValueError):
        nth_weekday(2026, 2, 0, 5)


def test_series_keys_are_stable_and_distinguish_rules_and_days() -> None:
    first = series_occurrences(rule((3, 6), 2, 2, title="A"), 2026, BERLIN)
    again = series_occurrences(rule((3, 6), 2, 2, title="A"), 2026, BERLIN)
    other = series_occurrences(rule((3, 6), 2, 2, title="B"), 2026, BERLIN)
    assert [o.series_key for o in first] == [o.series_key for o in again]
    assert len({o.series_key for o in first + other}) == 4
    assert all(len(o.series_key) <= 100 for o in first)


# --- reminders -----------------------------------------------------------------------------------------------

WEDNESDAY = date(2026, 6, 10)


@pytest.mark.parametrize(
    ("today", "sent", "expected"),
    [
        (date(2026, 6, 2), frozenset(), None),
        (date(2026, 6, 3), frozenset(), 7),
        (date(2026, 6, 5), frozenset(), 7),
        (date(2026, 6, 5), frozenset({7}), None),
        (date(2026, 6, 9), frozenset({7}), 1),
        (date(2026, 6, 9), frozenset(), 1),  # catch-up: only the latest stage
        (date(2026, 6, 10), frozenset(), 1),  # on the day itself, before the meeting
        (date(2026, 6, 10), frozenset({1}), None),
        (date(2026, 6, 11), frozenset(), None),  # past
    ],
)
def test_due_reminder_sends_the_latest_stage_once(today: date, sent: frozenset[int], expected: int | None) -> None:
    assert due_reminder(WEDNESDAY, (7, 1), today, sent) == expected


def test_reminders_move_to_the_previous_working_day() -> None:
    assert reminder_day(date(2026, 6, 8), 1) == date(2026, 6, 5)  # Monday meeting: Friday before
    assert reminder_day(date(2026, 4, 7), 1) == date(2026, 4, 2)  # after Easter: Thursday before Karfreitag
    assert due_reminder(date(2026, 6, 8), (7, 1), date(2026, 6, 6), frozenset({7})) == 1


def test_no_reminder_right_after_the_invitation_or_the_last_change() -> None:
    assert due_reminder(WEDNESDAY, (7, 1), date(2026, 6, 5), notified_on=date(2026, 6, 5)) is None
    assert due_reminder(WEDNESDAY, (7, 1), date(2026, 6, 9), notified_on=date(2026, 6, 5)) == 1
    assert due_reminder(WEDNESDAY, (7, 1), date(2026, 6, 9), notified_on=date(2026, 6, 9)) is None


# --- input -----------------------------------------------------------------------------------------------------

START = datetime(2026, 6, 10, 10, tzinfo=BERLIN)


def draft(**overrides: object) -> MeetingDraft:
    values: dict[str, object] = {"type": MeetingType.FACHVERANSTALTUNG, "title": "Fachtag", "start": START,
                                 "end": START + timedelta(hours=5), "location": "Mainz"}  # fmt: skip
    return MeetingDraft(**{**values, **overrides})  # type: ignore[arg-type]


def test_a_good_draft_is_trimmed() -> None:
    checked = check_draft(draft(title="  Fachtag ", location=" ", video_link="https://meet.example/x", agenda="\n"))
    assert (checked.title, checked.location, checked.video_link, checked.agenda) == (
        "Fachtag", None, "https://meet.example/x", None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"end": START}, "Ende des Termins muss nach dem Beginn"),
        ({"end": START - timedelta(hours=1)}, "Ende des Termins muss nach dem Beginn"),
        ({"end": START + timedelta(days=8)}, "höchstens 7 Tage"),
        ({"start": START.replace(tzinfo=None)}, "Zeitzone"),
        ({"title": "Fachtag\r\nBcc: x@example.org"}, "Steuerzeichen"),
        ({"title": "Fach\x00tag"}, "Steuerzeichen"),
        ({"title": " "}, "Titel: darf nicht leer"),
        ({"title": "x" * 301}, "höchstens 300"),
        ({"location": "Mainz\nRaum 2"}, "Steuerzeichen"),
        ({"location": "x" * 501}, "höchstens 500"),
        ({"video_link": "javascript:alert(1)"}, "http:// oder https://"),
        ({"video_link": "ftp://files.example/x"}, "http:// oder https://"),
        ({"video_link": "https://"}, "http:// oder https://"),
        ({"video_link": "https://x.example/" + "a" * 1000}, "höchstens 1000"),
        ({"agenda": "a\x01b"}, "Steuerzeichen"),
        ({"title": "=?utf-8?q?X=0D=0AReply-To:_evil@evil.example=0D=0ABcc:_x@y?="}, "kodierten Zeichenfolge"),
        ({"title": "Fachtag \u202egnuztiS"}, "Textrichtung \\(U\\+202E\\)"),
        ({"location": "Main\u200bz"}, "ohne Breite \\(U\\+200B\\)"),
        ({"location": "Mainz\u2028Raum 2"}, "Zeilenumbruch"),
        ({"agenda": "x" * 10_001}, "höchstens 10000"),
        ({"location": None}, "Ort oder einen Videolink"),
    ],
)
def test_bad_input_is_refused_in_german(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(MeetingInputError, match=message):
        check_draft(draft(**overrides), require_place=True)


def test_an_agenda_keeps_its_lines_normalised_to_lf_without_nul() -> None:
    checked = check_draft(draft(agenda="1. Begrüßung\r\n2. Aus\x00tausch\r3. Ende\u2028"))
    assert checked.agenda == "1. Begrüßung\n2. Austausch\n3. Ende"


def test_agenda_items_drop_numbering_and_blank_lines() -> None:
    assert agenda_items("1. Begrüßung\r\n- Austausch\n\n  3) Sonstiges\n• Ende") == [
        "Begrüßung", "Austausch", "Sonstiges", "Ende",
    ]  # fmt: skip
    assert agenda_items(None) == []


def test_local_datetime_is_aware_in_the_zone() -> None:
    value = local_datetime(date(2026, 1, 14), time(10), BERLIN)
    assert value.utcoffset() == timedelta(hours=1)
    assert as_aware(value, ZoneInfo("UTC")) is value
