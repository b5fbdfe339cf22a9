"""Calendar files: parsed back with icalendar, stable UIDs, sequences, methods and local times across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event

from kim_workflow.core.validation import InvalidValueError
from kim_workflow.email.ics import deadline_event, ics_attachment, meeting_event

BERLIN = ZoneInfo("Europe/Berlin")
STAMP = datetime(2026, 5, 1, 7, 0, tzinfo=UTC)
UID = "kim-meeting-42@kim.rlp.de"


def meeting(**overrides: Any) -> bytes:
    arguments: dict[str, Any] = {
        "uid": UID,
        "summary": "Vernetzungstreffen",
        "description": "1. Begrüßung\n2. Austausch; Fragen, Antworten",
        "start": datetime(2026, 6, 10, 10, 0, tzinfo=BERLIN),
        "end": datetime(2026, 6, 10, 15, 0, tzinfo=BERLIN),
        "location": "MFFKI, Mainz",
        "url": "https://meet.rlp.example/kim",
        "organizer_email": "kim@mffki.rlp.de",
        "organizer_name": "Referat Integration, MFFKI",
        "attendee_email": "im@kreis.example",
        "sequence": 0,
        "method": "REQUEST",
        "dtstamp": STAMP,
    }
    return meeting_event(**{**arguments, **overrides})


def parse(content: bytes) -> tuple[Calendar, Event]:
    calendar = Calendar.from_ical(content)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def test_deadline_is_an_all_day_published_event_with_an_alarm() -> None:
    content = deadline_event(
        uid="kim-deadline-2026-07339000@kim.rlp.de",
        summary="Abgabefrist KIM: Jahresbericht und Fragebogen 2026",
        description="Landkreis Mainz-Bingen",
        due=date(2026, 12, 15),
        sequence=3,
        dtstamp=STAMP,
    )
    calendar, event = parse(content)
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(event["UID"]) == "kim-deadline-2026-07339000@kim.rlp.de"
    assert event.decoded("DTSTART") == date(2026, 12, 15) and not isinstance(event.decoded("DTSTART"), datetime)
    assert event.decoded("DTEND") == date(2026, 12, 16)
    assert int(event["SEQUENCE"]) == 3
    assert event.decoded("DTSTAMP") == STAMP
    alarms = event.walk("VALARM")
    assert len(alarms) == 1 and alarms[0].decoded("TRIGGER") < timedelta(0)
    assert b"\r\n" in content


@pytest.mark.parametrize(("sequence", "method"), [(0, "REQUEST"), (1, "REQUEST"), (2, "CANCEL")])
def test_uid_is_stable_across_sequences(sequence: int, method: Literal["REQUEST", "CANCEL"]) -> None:
    calendar, event = parse(meeting(sequence=sequence, method=method))
    assert str(event["UID"]) == UID
    assert int(event["SEQUENCE"]) == sequence
    assert str(calendar["METHOD"]) == method
    assert str(event["STATUS"]) == ("CANCELLED" if method == "CANCEL" else "CONFIRMED")
    assert event.decoded("DTSTAMP") == STAMP


def test_meeting_has_organizer_attendee_location_and_url() -> None:
    _, event = parse(meeting())
    assert str(event["ORGANIZER"]) == "mailto:kim@mffki.rlp.de"
    assert event["ORGANIZER"].params["CN"] == "Referat Integration, MFFKI"
    assert str(event["ATTENDEE"]) == "mailto:im@kreis.example"
    assert event["ATTENDEE"].params["RSVP"] == "TRUE"
    assert str(event["LOCATION"]) == "MFFKI, Mainz" and str(event["URL"]) == "https://meet.rlp.example/kim"
    assert str(event["DESCRIPTION"]) == "1. Begrüßung\n2. Austausch; Fragen, Antworten"


def test_video_only_meeting_uses_the_link_as_location_and_attendee_is_optional() -> None:
    _, event = parse(meeting(location=None, attendee_email=None))
    assert str(event["LOCATION"]) == "https://meet.rlp.example/kim"
    assert "ATTENDEE" not in event


def test_times_carry_tzid_and_a_vtimezone() -> None:
    content = meeting()
    calendar, event = parse(content)
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event["DTEND"].params["TZID"] == "Europe/Berlin"
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    assert b"DTSTART;TZID=Europe/Berlin:20260610T100000" in content
    assert calendar.get_missing_tzids() == set()


@pytest.mark.parametrize(
    ("day", "utc_hour"),
    [
        (date(2026, 3, 27), 9),  # CET, before the switch on 29 March
        (date(2026, 3, 30), 8),  # CEST
        (date(2026, 10, 23), 8),  # CEST, before the switch on 25 October
        (date(2026, 10, 26), 9),  # CET
    ],
)
def test_local_ten_oclock_stays_ten_across_dst(day: date, utc_hour: int) -> None:
    start = datetime(day.year, day.month, day.day, 10, 0, tzinfo=BERLIN)
    content = meeting(start=start, end=start + timedelta(hours=5))
    assert f"DTSTART;TZID=Europe/Berlin:{day:%Y%m%d}T100000".encode() in content
    _, event = parse(content)
    parsed = event.decoded("DTSTART")
    assert (parsed.hour, parsed.minute) == (10, 0)
    assert parsed.astimezone(UTC).hour == utc_hour


def test_utc_and_naive_inputs_are_written_as_berlin_local_time() -> None:
    utc_start = datetime(2026, 10, 26, 9, 0, tzinfo=UTC)  # 10:00 CET
    content = meeting(start=utc_start, end=utc_start + timedelta(hours=2))
    assert b"DTSTART;TZID=Europe/Berlin:20261026T100000" in content
    naive = meeting(start=datetime(2026, 3, 30, 10, 0), end=datetime(2026, 3, 30, 12, 0))
    assert b"DTSTART;TZID=Europe/Berlin:20260330T100000" in naive


def test_the_same_input_gives_the_same_bytes() -> None:
    assert meeting() == meeting()


def test_invalid_input_is_refused() -> None:
    with pytest.raises(InvalidValueError):
        meeting(end=datetime(2026, 6, 10, 9, 0, tzinfo=BERLIN))
    with pytest.raises(InvalidValueError):
        meeting(dtstamp=datetime(2026, 5, 1, 7, 0))
    with pytest.raises(InvalidValueError):
        meeting(method="PUBLISH")
    with pytest.raises(InvalidValueError):
        meeting(sequence=-1)
    with pytest.raises(InvalidValueError):
        meeting(uid="a\r\nb")


def test_ics_attachment() -> None:
    attachment = ics_attachment(b"BEGIN:VCALENDAR", "request", "termin.ics")
    assert attachment.content_type == "text/calendar; method=REQUEST; charset=utf-8"
    assert attachment.filename == "termin.ics" and attachment.content == b"BEGIN:VCALENDAR"
    assert ics_attachment(b"", "CANCEL", "absage.ics").content_type.startswith("text/calendar; method=CANCEL")
    with pytest.raises(InvalidValueError):
        ics_attachment(b"", "REFRESH", "x.ics")
    with pytest.raises(InvalidValueError):
        ics_attachment(b"", "REQUEST", "x\n.ics")


def test_cached_deadline_skeleton_gives_the_same_bytes_as_a_fresh_build() -> None:
    from kim_workflow.email.ics import _deadline_calendar

    stamp = datetime(2026, 11, 3, 6, tzinfo=UTC)
    for uid in ("kim-deadline-2026-07315000@mffki.rlp.de", "x" * 80 + "@long.example"):
        fast = deadline_event(
            uid=uid, summary="Frist", description="D", due=date(2026, 12, 15), sequence=2, dtstamp=stamp
        )
        full = _deadline_calendar(uid, "Frist", "D", date(2026, 12, 15), 2, stamp)
        assert fast == full
        assert uid in fast.decode().replace("\r\n ", "")


@pytest.mark.parametrize(
    "attendee", ["im@mainz.example", "a" * 90 + "@sehr-lange-domain.example", "müller@umlaut.example", None]
)
def test_cached_meeting_skeleton_gives_the_same_bytes_as_a_fresh_build(attendee: str | None) -> None:
    from kim_workflow.email.ics import _Meeting, _meeting_calendar

    start = datetime(2026, 3, 10, 10, tzinfo=ZoneInfo("Europe/Berlin"))
    version = _Meeting("kim-meeting-7@mffki.rlp.de", "Vernetzungstreffen", "TOP 1", start, start + timedelta(hours=2),
                       "Mainz", None, "kim@mffki.rlp.de", "Referat Integration", 3, "REQUEST",
                       datetime(2026, 1, 2, 6, tzinfo=UTC))  # fmt: skip
    fast = meeting_event(
        uid=version.uid, summary=version.summary, description=version.description, start=start,
        end=version.end, location="Mainz", url=None, organizer_email=version.organizer_email,
        organizer_name=version.organizer_name, attendee_email=attendee, sequence=3, method="REQUEST",
        dtstamp=version.dtstamp,
    )  # fmt: skip
    _meeting_calendar.cache_clear()
    assert fast == _meeting_calendar(version, attendee)
    assert all(len(line) <= 75 for line in fast.split(b"\r\n"))
