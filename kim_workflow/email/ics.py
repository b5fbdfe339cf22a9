"""Calendar files (RFC 5545) for deadlines and meetings; the caller passes stable UIDs and the DTSTAMP (no clock)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, vCalAddress
from icalendar.parser import Contentline

from kim_workflow.core.header_text import check_header_text
from kim_workflow.core.validation import InvalidValueError, check_header_safe
from kim_workflow.email.kinds import MessageKind
from kim_workflow.email.mime import Attachment
from kim_workflow.email.specs import calendar_method

PRODID = "-//MFFKI Rheinland-Pfalz//kim-workflow//DE"
ICS_METHODS = frozenset({"PUBLISH", "REQUEST", "CANCEL"})
_DEADLINE_ALARM = timedelta(hours=-15)  # 09:00 on the day before the (all-day) due date


def _calendar(method: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    return calendar


def _event(*, uid: str, summary: str, description: str, sequence: int, dtstamp: datetime) -> Event:
    if sequence < 0:
        raise InvalidValueError(f"SEQUENCE darf nicht negativ sein, nicht {sequence}")
    event = Event()
    event.add("uid", check_header_safe(uid, field="UID"))
    event.add("dtstamp", _utc(dtstamp))
    event.add("sequence", sequence)
    event.add("summary", summary)
    event.add("description", description)
    return event


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise InvalidValueError("DTSTAMP braucht eine Zeitzone")
    return value.astimezone(UTC)


def _local(value: datetime, zone: ZoneInfo) -> datetime:
    return value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)


def deadline_event(*, uid: str, summary: str, description: str, due: date, sequence: int, dtstamp: datetime) -> bytes:
    """An all-day event on ``due`` (METHOD:PUBLISH, free time) with a reminder at 09:00 the day before.

    A sweep builds thousands of these differing only in the UID: the calendar is built once per remaining
    arguments (cached) and the UID put in afterwards, which keeps the output identical to a fresh build.
    """
    check_header_safe(uid, field="UID")
    if len(uid) > _MAX_UNFOLDED_UID or not uid.isascii():
        return _deadline_calendar(uid, summary, description, due, sequence, _utc(dtstamp))
    skeleton = _deadline_calendar(_UID_PLACEHOLDER, summary, description, due, sequence, _utc(dtstamp))
    return skeleton.replace(f"UID:{_UID_PLACEHOLDER}\r\n".encode(), f"UID:{uid}\r\n".encode(), 1)


_UID_PLACEHOLDER = "kim-uid-placeholder"
_MAX_UNFOLDED_UID = 70  # "UID:" + uid stays within one 75-octet content line


@lru_cache(maxsize=256)
def _deadline_calendar(uid: str, summary: str, description: str, due: date, sequence: int, dtstamp: datetime) -> bytes:
    calendar = _calendar("PUBLISH")
    event = _event(uid=uid, summary=summary, description=description, sequence=sequence, dtstamp=dtstamp)
    event.add("dtstart", due)
    event.add("dtend", due + timedelta(days=1))
    event.add("transp", "TRANSPARENT")
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", summary)
    alarm.add("trigger", _DEADLINE_ALARM)
    event.add_component(alarm)
    calendar.add_component(event)
    return bytes(calendar.to_ical())


def meeting_event(
    *,
    uid: str,
    summary: str,
    description: str,
    start: datetime,
    end: datetime,
    location: str | None,
    url: str | None,
    organizer_email: str,
    organizer_name: str,
    attendee_email: str | None,
    sequence: int,
    method: Literal["REQUEST", "CANCEL"],
    dtstamp: datetime,
    tz: str = "Europe/Berlin",
) -> bytes:
    """A meeting request or cancellation with local times (TZID ``tz``) and the matching VTIMEZONE.

    Invitations to one meeting differ only in the attendee: the calendar (its VTIMEZONE is the costly part) is
    built once per meeting version (cached) and the attendee's address put into the folded ATTENDEE line
    afterwards, which keeps the output identical to a fresh build.
    """
    if method not in ("REQUEST", "CANCEL"):
        raise InvalidValueError(f"METHOD muss REQUEST oder CANCEL sein, nicht {method!r}")
    zone = ZoneInfo(tz)
    local_start, local_end = _local(start, zone), _local(end, zone)
    if local_end <= local_start:
        raise InvalidValueError("Das Ende eines Termins muss nach dem Beginn liegen")
    meeting = _Meeting(uid, summary, description, local_start, local_end, location, url, organizer_email,
                       organizer_name, sequence, method, _utc(dtstamp))  # fmt: skip
    if attendee_email is None:
        return _meeting_calendar(meeting, None)
    address = check_header_safe(attendee_email, field="E-Mail")
    return _with_attendee(_meeting_calendar(meeting, _ATTENDEE_PLACEHOLDER), address)


@dataclass(frozen=True, slots=True)
class _Meeting:
    uid: str
    summary: str
    description: str
    start: datetime
    end: datetime
    location: str | None
    url: str | None
    organizer_email: str
    organizer_name: str
    sequence: int
    method: str
    dtstamp: datetime


_ATTENDEE_PLACEHOLDER = "kim-attendee-placeholder@invalid"


@lru_cache(maxsize=64)
def _meeting_calendar(m: _Meeting, attendee_email: str | None) -> bytes:
    calendar = _calendar(m.method)
    event = _event(uid=m.uid, summary=m.summary, description=m.description, sequence=m.sequence, dtstamp=m.dtstamp)
    event.add("dtstart", m.start)
    event.add("dtend", m.end)
    event.add("status", "CANCELLED" if m.method == "CANCEL" else "CONFIRMED")
    if m.location or m.url:
        event.add("location", m.location or m.url)
    if m.url:
        event.add("url", m.url)
    event.add("organizer", _address(m.organizer_email, m.organizer_name))
    if attendee_email:
        attendee = _address(attendee_email, None)
        attendee.params.update({"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION", "RSVP": "TRUE"})
        event.add("attendee", attendee)
    calendar.add_component(event)
    calendar.add_missing_timezones(first_date=date(m.start.year - 1, 1, 1), last_date=date(m.end.year + 2, 1, 1))
    return bytes(calendar.to_ical())


def _with_attendee(skeleton: bytes, email: str) -> bytes:
    """``skeleton`` with the placeholder in its (folded) ATTENDEE line replaced by ``email``, folded again."""
    text = skeleton.decode("utf-8")
    begin = text.index("\r\nATTENDEE") + 2
    end = begin
    while True:  # the content line ends at the first CRLF not followed by a folding space
        end = text.index("\r\n", end)
        if text[end + 2 : end + 3] != " ":
            break
        end += 2
    line = text[begin:end].replace("\r\n ", "").replace(f"mailto:{_ATTENDEE_PLACEHOLDER}", f"mailto:{email}")
    folded: bytes = Contentline(line).to_ical()  # type: ignore[no-untyped-call]
    return text[:begin].encode("utf-8") + folded + text[end:].encode("utf-8")


def _address(email: str, name: str | None) -> vCalAddress:
    address = vCalAddress(f"mailto:{check_header_safe(email, field='E-Mail')}")
    if name:
        address.params["CN"] = check_header_text(name, field="Name")
    return address


def ics_attachment(content: bytes, method: str, filename: str = "termin.ics") -> Attachment:
    """The calendar file as a ``text/calendar`` attachment whose ``method`` matches the file's METHOD."""
    method = method.upper()
    if method not in ICS_METHODS:
        raise InvalidValueError(f"unbekannte Kalender-METHOD {method!r}")
    check_header_text(filename, field="Dateiname")
    return Attachment(filename, f"text/calendar; method={method}; charset=utf-8", content)


def calendar_attachment(content: bytes, kind: MessageKind, filename: str) -> Attachment:
    """The calendar file of a ``kind`` message, with the METHOD its spec declares."""
    return ics_attachment(content, calendar_method(kind), filename)
