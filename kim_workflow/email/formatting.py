"""German formatting helpers for email texts (pure, Babel locale ``de_DE``); all are also Jinja filters."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_decimal

from kim_workflow.core.domain import DeliverableKind, MeetingType, Organiser
from kim_workflow.core.money import format_eur
from kim_workflow.email.salutation import salutation

LOCALE = "de_DE"
_GERMAN = Locale.parse(LOCALE)

MEETING_TYPE_LABELS: Mapping[MeetingType, str] = {
    MeetingType.VERNETZUNGSTREFFEN: "Vernetzungstreffen",
    MeetingType.ARBEITSTREFFEN: "Arbeitstreffen",
    MeetingType.FACHVERANSTALTUNG: "Fachveranstaltung",
    MeetingType.OTHER: "Termin",
}

ORGANISER_LABELS: Mapping[Organiser, str] = {
    Organiser.FACHREFERAT: "Fachreferat Integration im MFFKI",
    Organiser.DBKI: "DBKI",
}


def _zone(tz: str | tzinfo) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def to_local(value: datetime, tz: str | tzinfo) -> datetime:
    """``value`` in ``tz``; a naive datetime is taken to be local time in ``tz`` already."""
    zone = _zone(tz)
    return value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)


def format_date_long(value: date, tz: str | tzinfo | None = None) -> str:
    """``"Dienstag, 15. Dezember 2026"``; a datetime is first converted to ``tz`` when given."""
    if isinstance(value, datetime) and tz is not None:
        value = to_local(value, tz)
    return _babel_date(_day(value), "full")


def format_date_short(value: date, tz: str | tzinfo | None = None) -> str:
    """``"15.12.2026"``."""
    if isinstance(value, datetime) and tz is not None:
        value = to_local(value, tz)
    return _babel_date(_day(value), "dd.MM.yyyy")


def _day(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


@lru_cache(maxsize=4096)
def _babel_date(value: date, pattern: str) -> str:
    """Babel is slow (~0.1 ms a call) and a sweep formats the same few dates thousands of times."""
    return str(format_date(value, format=pattern, locale=LOCALE))


def _hhmm(value: datetime) -> str:
    return str(format_time(value, format="HH:mm", locale=LOCALE))


def format_time_range(start: datetime, end: datetime, tz: str | tzinfo) -> str:
    """``"10:00–15:00 Uhr"`` in local time of ``tz``."""
    return f"{_hhmm(to_local(start, tz))}–{_hhmm(to_local(end, tz))} Uhr"


def format_datetime_long(value: datetime, tz: str | tzinfo) -> str:
    """``"Dienstag, 15. Dezember 2026, 09:30 Uhr"``."""
    local = to_local(value, tz)
    return f"{format_date_long(local)}, {_hhmm(local)} Uhr"


def format_meeting_when(start: datetime, end: datetime, tz: str | tzinfo) -> str:
    """``"Mittwoch, 10. Juni 2026, 10:00–15:00 Uhr"``, or a ``bis`` range for meetings over several days."""
    local_start, local_end = to_local(start, tz), to_local(end, tz)
    if local_start.date() == local_end.date():
        return f"{format_date_long(local_start)}, {format_time_range(local_start, local_end, tz)}"
    return f"{format_datetime_long(local_start, tz)} bis {format_datetime_long(local_end, tz)}"


@lru_cache(maxsize=1024)
def plural(count: int, singular: str, plural_form: str) -> str:
    """``"1 Tag"`` / ``"3 Tage"`` / ``"1.000 Tage"``: the count and the noun form German's plural rule picks (Babel)."""
    form = singular if _GERMAN.plural_form(count) == "one" else plural_form
    return f"{format_decimal(count, locale=LOCALE)} {form}"


def join_de(items: Iterable[object]) -> str:
    """``"A, B und C"``."""
    values = [str(item) for item in items]
    return " und ".join(values) if len(values) < 3 else f"{', '.join(values[:-1])} und {values[-1]}"


def deliverable_label(kind: DeliverableKind | str) -> str:
    """``"Jahresbericht"`` or ``"Fragebogen"``."""
    return DeliverableKind(kind).label_de


def meeting_type_label(kind: MeetingType | str) -> str:
    return MEETING_TYPE_LABELS[MeetingType(kind)]


def meeting_name(title: str, kind: MeetingType | str) -> str:
    """``Arbeitstreffen „Jahresplanung“``; a title that already names its type stands alone (no word twice)."""
    label = meeting_type_label(kind)
    return title if label.lower() in title.lower() else f"{label} „{title}“"


def organiser_label(organiser: Organiser | str) -> str:
    return ORGANISER_LABELS[Organiser(organiser)]


FILTERS: Mapping[str, Callable[..., Any]] = {
    "date_long": format_date_long,
    "date_short": format_date_short,
    "eur": format_eur,
    "time_range": format_time_range,
    "datetime_long": format_datetime_long,
    "meeting_when": format_meeting_when,
    "salutation": salutation,
    "plural": plural,
    "join_de": join_de,
    "deliverable_label": deliverable_label,
    "meeting_type_label": meeting_type_label,
    "meeting_name": meeting_name,
    "organiser_label": organiser_label,
}
