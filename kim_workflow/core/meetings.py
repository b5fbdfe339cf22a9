"""Meetings as data (pure): input checks, a year's series from the policy rules, the reminder stages.

Times are aware datetimes; local wall-clock times are built in the programme's zone (Europe/Berlin), so a
10:00 meeting stays at 10:00 local time on both sides of a DST change. A series day that falls on a public
holiday of Rheinland-Pfalz moves to the next working day of the same week (Monday to Friday), else to the last
working day before it in that week, else to the next working day after it.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from urllib.parse import urlsplit

from kim_workflow.core.calendar import is_holiday, is_working_day, next_working_day
from kim_workflow.core.domain import MeetingType, Organiser
from kim_workflow.core.header_text import check_header_text, normalise_body_text
from kim_workflow.core.ladder import Covers, Ladder, Stage, StageKind, before
from kim_workflow.core.policy import MeetingSeriesRule
from kim_workflow.core.validation import InvalidValueError, check_multiline_safe
from kim_workflow.core.years import FIRST_DAY, LAST_DAY, YEAR_MAX, YEAR_MIN

TITLE_MAX = 300
LOCATION_MAX = 500
URL_MAX = 1000
AGENDA_MAX = 10_000
REASON_MAX = 1000
MAX_DURATION = timedelta(days=7)


class MeetingInputError(InvalidValueError):
    """Meeting data that must not be stored; the message is German and names the field."""


# --- input checks ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeetingDraft:
    """A meeting as entered (or generated), before it is stored."""

    type: MeetingType
    title: str
    start: datetime
    end: datetime
    location: str | None = None
    video_link: str | None = None
    agenda: str | None = None
    organiser: Organiser = Organiser.FACHREFERAT


def check_draft(draft: MeetingDraft, *, require_place: bool = False) -> MeetingDraft:
    """The draft with texts trimmed (empty → ``None``); raise :class:`MeetingInputError` for bad input."""
    check_times(draft.start, draft.end)
    location = check_text(draft.location, "Ort", LOCATION_MAX)
    video_link = check_url(draft.video_link, "Videolink")
    if require_place and not (location or video_link):
        raise MeetingInputError("Bitte einen Ort oder einen Videolink angeben.")
    return replace(
        draft,
        title=check_text(draft.title, "Titel", TITLE_MAX, required=True) or "",
        location=location,
        video_link=video_link,
        agenda=check_agenda(draft.agenda),
    )


def check_times(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise MeetingInputError("Beginn und Ende brauchen eine Zeitzone.")
    _check_in_range(start.date(), "Beginn")
    _check_in_range(end.date(), "Ende")
    if end <= start:
        raise MeetingInputError("Das Ende des Termins muss nach dem Beginn liegen.")
    if end - start > MAX_DURATION:
        raise MeetingInputError("Ein Termin darf höchstens 7 Tage dauern.")


def _check_in_range(day: date, field: str) -> None:
    """Before any time-zone arithmetic: year 1 or 9999 would overflow there."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise MeetingInputError(f"{field}: {day:%d.%m.%Y} liegt außerhalb der Förderjahre {YEAR_MIN} bis {YEAR_MAX}.")


def check_text(value: str | None, field: str, limit: int, *, required: bool = False) -> str | None:
    """A one-line text that may reach a header (:func:`~kim_workflow.core.header_text.check_header_text`)."""
    text = (value or "").strip()
    if not text:
        if required:
            raise MeetingInputError(f"{field}: darf nicht leer sein.")
        return None
    if len(text) > limit:
        raise MeetingInputError(f"{field}: höchstens {limit} Zeichen (nicht {len(text)}).")
    try:
        return check_header_text(text, field=field)
    except InvalidValueError as exc:
        raise MeetingInputError(str(exc)) from None


def check_url(value: str | None, field: str) -> str | None:
    """An http(s) link with a host, without spaces or control characters."""
    url = check_text(value, field, URL_MAX)
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or " " in url:
        raise MeetingInputError(f"{field}: nur Links mit http:// oder https:// sind erlaubt, nicht {url!r}.")
    return url


def check_agenda(value: str | None) -> str | None:
    return check_multiline(value, "Tagesordnung", AGENDA_MAX)


def check_multiline(value: str | None, field: str, limit: int) -> str | None:
    """Several lines are fine (normalised to LF, NUL removed); other control characters are not."""
    text = normalise_body_text(value or "").strip()
    if not text:
        return None
    if len(text) > limit:
        raise MeetingInputError(f"{field}: höchstens {limit} Zeichen (nicht {len(text)}).")
    try:
        return check_multiline_safe(text, field=field)
    except InvalidValueError as exc:
        raise MeetingInputError(str(exc)) from None


def agenda_items(agenda: str | None) -> list[str]:
    """The agenda's non-empty lines, leading numbering or bullets removed."""
    lines = (re.sub(r"^\s*(\d+[.)]|[-*•])\s*", "", line).strip() for line in (agenda or "").splitlines())
    return [line for line in lines if line]


def local_datetime(day: date, at: time, zone: tzinfo) -> datetime:
    """``day`` at wall-clock time ``at`` in ``zone``; a time skipped by the DST change is refused."""
    _check_in_range(day, "Datum")
    value = datetime.combine(day, at, tzinfo=zone)
    if value.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != value.replace(tzinfo=None):
        raise MeetingInputError(f"{day:%d.%m.%Y} {at:%H:%M} Uhr gibt es wegen der Zeitumstellung nicht.")
    return value


def as_aware(value: datetime, zone: tzinfo) -> datetime:
    """An aware ``value`` unchanged; a naive one taken as local time in ``zone``."""
    return value if value.tzinfo is not None else local_datetime(value.date(), value.time(), zone)


# --- series ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One meeting of a series: ``nominal`` is the rule's day, ``day`` the one after the holiday check."""

    series_key: str
    nominal: date
    day: date
    start: datetime
    end: datetime

    @property
    def moved(self) -> bool:
        return self.day != self.nominal


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    """The ``nth`` (1..5, or -1 for the last) ``weekday`` (0 = Monday) of the month."""
    days = [d for d in range(1, calendar.monthrange(year, month)[1] + 1) if date(year, month, d).weekday() == weekday]
    if nth == -1:
        return date(year, month, days[-1])
    if not 1 <= nth <= len(days):
        raise ValueError(f"no {nth}. weekday {weekday} in {year}-{month:02d}")
    return date(year, month, days[nth - 1])


def avoid_holiday(day: date) -> date:
    """``day`` unless it is a public holiday: then the next working day of its week, else the previous one."""
    if not is_holiday(day):
        return day
    week = [day + timedelta(days=i - day.weekday()) for i in range(5)]
    later = [d for d in week if d > day and is_working_day(d)]
    earlier = [d for d in week if d < day and is_working_day(d)]
    return later[0] if later else earlier[-1] if earlier else next_working_day(day)


def rule_key(rule: MeetingSeriesRule) -> str:
    """Stable key of a rule: its type and a short hash of its title (titles are unique within a policy)."""
    return f"{rule.type.value}-{hashlib.sha256(rule.title.encode('utf-8')).hexdigest()[:8]}"


def series_key(rule: MeetingSeriesRule, nominal: date) -> str:
    """``<rule key>/<nominal day>``: what makes generating a series idempotent, even after a move."""
    return f"{rule_key(rule)}/{nominal.isoformat()}"


def series_occurrences(rule: MeetingSeriesRule, year: int, zone: tzinfo) -> list[Occurrence]:
    """The rule's meetings in ``year``, in date order, at the rule's local times."""
    occurrences = []
    for month in rule.months:
        nominal = nth_weekday(year, month, rule.weekday, rule.nth)
        day = avoid_holiday(nominal)
        start, end = local_datetime(day, rule.start_time, zone), local_datetime(day, rule.end_time, zone)
        occurrences.append(Occurrence(series_key(rule, nominal), nominal, day, start, end))
    return occurrences


def draft_of(rule: MeetingSeriesRule, occurrence: Occurrence) -> MeetingDraft:
    return MeetingDraft(
        type=rule.type,
        title=rule.title,
        start=occurrence.start,
        end=occurrence.end,
        location=rule.location,
        organiser=rule.organiser,
    )


# --- reminders ------------------------------------------------------------------------------------------------


def meeting_ladder(days_before: Iterable[int]) -> Ladder:
    """Reminders before the meeting day; a sent one covers any due on its day or earlier (two offsets can share
    a working day)."""
    return Ladder.of(before(days_before), Covers.LATER_DAY)


def due_meeting_stage(
    meeting_day: date, rungs: Ladder, today: date, sent: Iterable[Stage] = (), notified_on: date | None = None
) -> Stage | None:
    """The latest reminder due ``today`` for a meeting on ``meeting_day``, or ``None``.

    ``sent`` are the stages already sent for this meeting day: a catch-up sends only the latest stage. Stages
    on or before ``notified_on`` (the day of the invitation or last change) are skipped: an invitation is not
    followed by a reminder at once. Nothing is due after the meeting day.
    """
    if today > meeting_day:
        return None
    return rungs.due(meeting_day, today, sent, quiet_until=notified_on)


def reminder_day(meeting_day: date, days_before: int) -> date:
    """The working day a reminder ``days_before`` the meeting goes out (earlier if that day is none)."""
    return Stage(StageKind.REMINDER, days_before).date_for(meeting_day)


def due_reminder(
    meeting_day: date,
    days_before: tuple[int, ...],
    today: date,
    sent: frozenset[int] = frozenset(),
    notified_on: date | None = None,
) -> int | None:
    """:func:`due_meeting_stage` in offsets (days before the meeting)."""
    stage = due_meeting_stage(meeting_day, meeting_ladder(days_before), today, before(sent), notified_on)
    return None if stage is None else stage.days
