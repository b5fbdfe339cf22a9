"""The per-year programme policy: report deadline and reminder offsets, application window, meeting series.

:func:`parse_policy` reads a plain mapping (the adapter loads TOML); :func:`policy_to_dict` gives a JSON-safe
snapshot that :func:`parse_policy` reads back unchanged. Dates are ``date`` objects, ISO strings (``"2027-01-15"``)
or ISO month-days relative to the policy year (``"--01-15"``); times are ``time`` objects or ``"HH:MM"``.
Offset lists are kept in ladder order: days before descending, days after ascending.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from datetime import date, datetime, time
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from kim_workflow.core.calendar import next_working_day
from kim_workflow.core.domain import MeetingType, Organiser

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_D = TypeVar("_D", bound="DataclassInstance")
Reader = Callable[[Any, str], Any]
"""Reads a raw value; the second argument is its dotted key path, for the error message."""


MAX_EXTENSION_DAYS = 365  # the last funding year's deadline plus this stays within core.years.LAST_DAY


class PolicyError(ValueError):
    """Malformed policy data (year policy or funding rules): the one error type of the policy files.

    The message starts with the dotted path of the offending value (``report.deadline_day: ...``); ``section``
    and ``key`` are read from it. :meth:`in_file` adds the file the value came from, in German.
    """

    def __init__(self, message: str, *, path: str | None = None, file: str | None = None) -> None:
        super().__init__(message)
        match = _ERROR_PATH.fullmatch(message)
        self.path = path if path is not None else (match.group(1) if match else None)
        self.detail = match.group(2) if match and path is None else message
        self.file = file

    @property
    def section(self) -> str | None:
        """The TOML table, e.g. ``funding``; ``None`` for a problem of the whole file."""
        head = re.split(r"[.\[]", self.path or "", maxsplit=1)[0]
        return head if head and head != _WHOLE_FILE else None

    @property
    def key(self) -> str | None:
        """The key within the section, e.g. ``max_fte`` or ``series[0].title``."""
        if self.section is None or self.path is None:
            return None
        return self.path[len(self.section) :].lstrip(".") or None

    def in_file(self, file: str) -> PolicyError:
        """The same problem, its message naming ``file``, the section and the key."""
        where = f"Richtlinie {file}"
        if self.section is not None:
            where += f", Abschnitt [{self.section}]"
        if self.key is not None:
            where += f", Schlüssel {self.key}"
        return PolicyError(f"{where}: {self.detail}", path=self.path or _WHOLE_FILE, file=file)


_WHOLE_FILE = "Richtlinie"
_ERROR_PATH = re.compile(r"([A-Za-z_]\w*(?:\.\w+|\[\d+\])*): (.*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class ReportPolicy:
    """Deadline of annual report and questionnaire, and the reminder ladder's offsets in days."""

    deadline_month: int = 12
    deadline_day: int = 15
    move_deadline_if_weekend: bool = False
    reminder_days_before: tuple[int, ...] = (42, 14, 3)
    overdue_days_after: tuple[int, ...] = (1, 7)
    escalation_days_after: int = 7
    max_extension_days: int = 120
    """An extended deadline lies at most this many days after the original one (at most a year)."""

    def deadline(self, year: int) -> date:
        """The effective deadline: moved to the next working day if it is none and the switch is on."""
        nominal = date(year, self.deadline_month, self.deadline_day)
        return next_working_day(nominal) if self.move_deadline_if_weekend else nominal


@dataclass(frozen=True, slots=True)
class ApplicationWindowPolicy:
    call_date: date
    application_deadline: date
    reminder_days_before: tuple[int, ...] = (14, 3)


@dataclass(frozen=True, slots=True)
class MeetingSeriesRule:
    """A recurring meeting on the ``nth`` (1..4, or -1 for the last) ``weekday`` (0 = Monday) of ``months``."""

    type: MeetingType
    title: str
    months: tuple[int, ...]
    weekday: int
    nth: int
    start_time: time = time(10, 0)
    end_time: time = time(15, 0)
    organiser: Organiser = Organiser.FACHREFERAT
    location: str | None = None


DEFAULT_SERIES = (
    MeetingSeriesRule(
        type=MeetingType.VERNETZUNGSTREFFEN,
        title="Vernetzungstreffen der Integrationsmanagerinnen und -manager",
        months=(3, 6, 9, 11),
        weekday=2,
        nth=2,
    ),
    MeetingSeriesRule(
        type=MeetingType.ARBEITSTREFFEN,
        title="Arbeitstreffen mit der DBKI",
        months=(2, 5, 8, 10),
        weekday=1,
        nth=-1,
        end_time=time(13, 0),
        organiser=Organiser.DBKI,
    ),
)


@dataclass(frozen=True, slots=True)
class MeetingPolicy:
    reminder_days_before: tuple[int, ...] = (7, 1)
    series: tuple[MeetingSeriesRule, ...] = DEFAULT_SERIES


@dataclass(frozen=True, slots=True)
class YearPolicy:
    """Everything that may change between funding years; ``funding`` stays a raw (JSON-safe) dict."""

    year: int
    report: ReportPolicy
    application_window: ApplicationWindowPolicy
    meetings: MeetingPolicy
    funding: dict[str, Any] = field(default_factory=dict, hash=False)

    def deadline(self) -> date:
        """The effective deadline of the annual report and the questionnaire."""
        return self.report.deadline(self.year)


def parse_policy(year: int, data: Mapping[str, Any]) -> YearPolicy:
    """The policy of ``year`` from ``data``, defaults for anything missing; raise :class:`PolicyError`."""
    _check_keys(data, {"year", "report", "application_window", "meetings", "funding"}, "Richtlinie")
    if "year" in data and _int(data["year"], "year") != year:
        raise PolicyError(f"year: {data['year']!r} passt nicht zum Förderjahr {year}")
    report = _build(ReportPolicy, _table(data.get("report", {}), "report"), "report", _report_readers())
    try:
        report.deadline(year)
    except ValueError:
        raise PolicyError(f"report: {report.deadline_day}.{report.deadline_month}.{year} ist kein Datum") from None
    return YearPolicy(
        year=year,
        report=report,
        application_window=_parse_window(year, _table(data.get("application_window", {}), "application_window")),
        meetings=_build(MeetingPolicy, _table(data.get("meetings", {}), "meetings"), "meetings", _meeting_readers()),
        funding=_json_safe(_table(data.get("funding", {}), "funding"), "funding"),
    )


def policy_to_dict(policy: YearPolicy) -> dict[str, Any]:
    """A JSON-serialisable snapshot (dates as ISO strings) with ``parse_policy(year, snapshot) == policy``."""
    snapshot: dict[str, Any] = _json_safe(policy, "policy")
    return snapshot


def _report_readers() -> dict[str, Reader]:
    return {
        "deadline_month": lambda x, w: _int_in(x, w, range(1, 13)),
        "deadline_day": lambda x, w: _int_in(x, w, range(1, 32)),
        "move_deadline_if_weekend": _bool,
        "reminder_days_before": _days_before,
        "overdue_days_after": _days_after,
        "escalation_days_after": _positive,
        "max_extension_days": lambda x, w: _int_in(x, w, range(1, MAX_EXTENSION_DAYS + 1)),
    }


def _parse_window(year: int, data: Mapping[str, Any]) -> ApplicationWindowPolicy:
    readers: dict[str, Reader] = {
        "call_date": lambda x, w: _date(x, w, year),
        "application_deadline": lambda x, w: _date(x, w, year),
        "reminder_days_before": _days_before,
    }
    defaults = {"call_date": date(year, 1, 15), "application_deadline": date(year, 3, 31)}
    window = _build(ApplicationWindowPolicy, {**defaults, **data}, "application_window", readers)
    if window.call_date >= window.application_deadline:
        raise PolicyError("application_window: call_date muss vor application_deadline liegen")
    return window


def _meeting_readers() -> dict[str, Reader]:
    def series(x: Any, where: str) -> tuple[MeetingSeriesRule, ...]:
        rules = tuple(_series_rule(item, f"{where}[{i}]") for i, item in enumerate(_list(x, where)))
        _check_unique([rule.title for rule in rules], f"{where} (title)")
        return rules

    return {"reminder_days_before": _days_before, "series": series}


def _series_rule(x: Any, where: str) -> MeetingSeriesRule:
    readers: dict[str, Reader] = {
        "type": lambda x, w: _enum(MeetingType, x, w),
        "title": _str,
        "months": _months,
        "weekday": lambda x, w: _int_in(x, w, range(7)),
        "nth": lambda x, w: _int_in(x, w, (1, 2, 3, 4, -1)),
        "start_time": _time,
        "end_time": _time,
        "organiser": lambda x, w: _enum(Organiser, x, w),
        "location": lambda x, w: None if x is None else _str(x, w),
    }
    rule = _build(MeetingSeriesRule, _table(x, where), where, readers)
    if rule.start_time >= rule.end_time:
        raise PolicyError(f"{where}: start_time muss vor end_time liegen")
    return rule


def _build(cls: type[_D], data: Mapping[str, Any], path: str, readers: dict[str, Reader]) -> _D:
    """Instantiate dataclass ``cls`` from the keys present in ``data``; missing keys take the field default."""
    _check_keys(data, set(readers), path)
    required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
    missing = [name for name in required if name not in data]
    if missing:
        raise PolicyError(f"{path}: Pflichtangabe fehlt: {', '.join(missing)}")
    return cls(**{key: read(data[key], f"{path}.{key}") for key, read in readers.items() if key in data})


def _check_keys(data: Mapping[str, Any], allowed: set[str], path: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise PolicyError(f"{path}: unbekannte Schlüssel {', '.join(map(repr, unknown))}")


def _check_unique(values: list[Any], where: str) -> None:
    duplicates = sorted({x for x in values if values.count(x) > 1}, key=str)
    if duplicates:
        raise PolicyError(f"{where}: doppelte Werte {', '.join(map(repr, duplicates))}")


def _table(x: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(x, Mapping) or not all(isinstance(k, str) for k in x):
        raise PolicyError(f"{where}: erwartet eine Tabelle, nicht {x!r}")
    return x


def _list(x: Any, where: str) -> list[Any]:
    if not isinstance(x, list | tuple):
        raise PolicyError(f"{where}: erwartet eine Liste, nicht {x!r}")
    return list(x)


def _int(x: Any, where: str) -> int:
    if isinstance(x, bool) or not isinstance(x, int):
        raise PolicyError(f"{where}: erwartet eine ganze Zahl, nicht {x!r}")
    return int(x)


def _int_in(x: Any, where: str, allowed: range | tuple[int, ...]) -> int:
    value = _int(x, where)
    if value not in allowed:
        allowed_text = f"{allowed.start} bis {allowed.stop - 1}" if isinstance(allowed, range) else allowed
        raise PolicyError(f"{where}: {x!r} ist nicht zulässig (erlaubt: {allowed_text})")
    return value


def _positive(x: Any, where: str) -> int:
    value = _int(x, where)
    if value <= 0:
        raise PolicyError(f"{where}: erwartet eine positive ganze Zahl, nicht {x!r}")
    return value


def _unique_ints(x: Any, where: str, read: Callable[[Any, str], int]) -> list[int]:
    values = [read(item, f"{where}[{i}]") for i, item in enumerate(_list(x, where))]
    _check_unique(values, where)
    return values


def _days_before(x: Any, where: str) -> tuple[int, ...]:
    return tuple(sorted(_unique_ints(x, where, _positive), reverse=True))


def _days_after(x: Any, where: str) -> tuple[int, ...]:
    return tuple(sorted(_unique_ints(x, where, _positive)))


def _months(x: Any, where: str) -> tuple[int, ...]:
    months = sorted(_unique_ints(x, where, lambda m, w: _int_in(m, w, range(1, 13))))
    if not months:
        raise PolicyError(f"{where}: mindestens ein Monat erforderlich")
    return tuple(months)


def _bool(x: Any, where: str) -> bool:
    if not isinstance(x, bool):
        raise PolicyError(f"{where}: erwartet true oder false, nicht {x!r}")
    return x


def _str(x: Any, where: str) -> str:
    if not isinstance(x, str) or not x.strip():
        raise PolicyError(f"{where}: erwartet einen nicht leeren Text, nicht {x!r}")
    return x.strip()


def _enum(cls: type[Enum], x: Any, where: str) -> Any:
    try:
        return cls(x)
    except ValueError:
        raise PolicyError(f"{where}: {x!r} ist nicht zulässig (erlaubt: {', '.join(e.value for e in cls)})") from None


def _date(x: Any, where: str, year: int) -> date:
    if isinstance(x, date) and not isinstance(x, datetime):
        return x
    text = f"{year}-{x[2:]}" if isinstance(x, str) and x.startswith("--") else x
    if isinstance(text, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise PolicyError(f"{where}: erwartet ein Datum (JJJJ-MM-TT oder --MM-TT), nicht {x!r}")


def _time(x: Any, where: str) -> time:
    if isinstance(x, str) and re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", x):
        return time.fromisoformat(x)
    if isinstance(x, time) and x.tzinfo is None and x.second == 0 and x.microsecond == 0:
        return x
    raise PolicyError(f"{where}: erwartet eine Uhrzeit (HH:MM), nicht {x!r}")


def _json_safe(x: Any, where: str) -> Any:
    """``x`` as JSON data: dataclasses and mappings become dicts (``None`` fields dropped), dates ISO strings."""
    if is_dataclass(x) and not isinstance(x, type):
        return {f.name: _json_safe(getattr(x, f.name), f.name) for f in fields(x) if getattr(x, f.name) is not None}
    if isinstance(x, Mapping):
        return {k: _json_safe(val, f"{where}.{k}") for k, val in _table(x, where).items()}
    if isinstance(x, list | tuple):
        return [_json_safe(item, f"{where}[{i}]") for i, item in enumerate(x)]
    if isinstance(x, Enum):
        return x.value
    if isinstance(x, time) and not (x.second or x.microsecond):
        return x.isoformat(timespec="minutes")
    if isinstance(x, date | time):
        return x.isoformat()
    if x is None or isinstance(x, str | int) or (isinstance(x, float) and math.isfinite(x)):
        return x
    raise PolicyError(f"{where}: nicht unterstützter Wert {x!r}")
