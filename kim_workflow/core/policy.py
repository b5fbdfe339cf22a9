"""The per-year programme policy: report deadline and reminder offsets, application window, meeting series.

:func:`parse_policy` reads a plain mapping (the adapter loads TOML); :func:`policy_to_dict` gives a JSON-safe
snapshot that :func:`parse_policy` reads back unchanged. Dates are ``date`` objects, ISO strings (``"2027-01-15"``)
or ISO month-days relative to the policy year (``"--01-15"``); times are ``time`` objects or ``"HH:MM"``.
Offset lists are kept in ladder order: days before descending, days after ascending.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from enum import StrEnum
from typing import Any

from kim_workflow.core.calendar import next_working_day
from kim_workflow.core.domain import MeetingType, Organiser
from kim_workflow.core.obligations import ObligationBasis
from kim_workflow.core.policy_values import PolicyError as PolicyError  # the policy's error type, raised here too
from kim_workflow.core.policy_values import (
    Reader,
    addresses,
    boolean,
    build,
    check_keys,
    check_unique,
    clock_time,
    day,
    days_after,
    days_before,
    enum_member,
    integer,
    integer_in,
    items,
    json_safe,
    month_day,
    months,
    nonempty_text,
    positive,
    table,
)
from kim_workflow.core.retention import MAX_RETENTION_MONTHS, RetentionPolicy

MAX_EXTENSION_DAYS = 365  # the last funding year's deadline plus this stays within core.years.LAST_DAY


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
    regular_receipt_from: str = "--12-01"
    """Receipts before this month-day of the funding year ("im Dezember eines Jahres") get a remark."""
    obligations: ObligationBasis = ObligationBasis.APPROVED
    """Who owes the deliverables: Kommunen with an approved application, or all active ones."""
    escalation_cc: tuple[str, ...] = ()
    """Addresses in Cc of the escalation digest (besides the ministry's contacts)."""
    portal_link_days_after_deadline: int = 180
    """Personal portal links of the year stop working this many days after the deadline (end of that day)."""
    attach_questionnaire_workbook: bool = False
    """Reminders and overdue notices for an outstanding Fragebogen carry the Kommune's prefilled workbook."""

    def regular_receipt_start(self, year: int) -> date:
        """The first regular receipt day of ``year``."""
        return date(year, int(self.regular_receipt_from[2:4]), int(self.regular_receipt_from[5:7]))

    def deadline(self, year: int) -> date:
        """The effective deadline: moved to the next working day if it is none and the switch is on."""
        nominal = date(year, self.deadline_month, self.deadline_day)
        return next_working_day(nominal) if self.move_deadline_if_weekend else nominal


class LateApplications(StrEnum):
    """What happens to an application submitted after the deadline."""

    REFUSE = "refuse"
    ACCEPT_MARKED = "accept_marked"  # stored with a visible "verspätet" mark


@dataclass(frozen=True, slots=True)
class ApplicationWindowPolicy:
    call_date: date
    application_deadline: date
    reminder_days_before: tuple[int, ...] = (14, 3)
    late_applications: LateApplications = LateApplications.REFUSE


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
class DecisionPolicy:
    four_eyes: bool = True
    """Every approval, amendment, revocation and budget override takes effect only once a second person confirms."""


@dataclass(frozen=True, slots=True)
class YearPolicy:
    """Everything that may change between funding years; ``funding`` stays a raw (JSON-safe) dict."""

    year: int
    report: ReportPolicy
    application_window: ApplicationWindowPolicy
    meetings: MeetingPolicy
    funding: dict[str, Any] = field(default_factory=dict, hash=False)
    decisions: DecisionPolicy = DecisionPolicy()
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)

    def deadline(self) -> date:
        """The effective deadline of the annual report and the questionnaire."""
        return self.report.deadline(self.year)


def parse_policy(year: int, data: Mapping[str, Any]) -> YearPolicy:
    """The policy of ``year`` from ``data``, defaults for anything missing; raise :class:`PolicyError`."""
    sections = {"year", "report", "application_window", "meetings", "funding", "decisions", "retention"}
    check_keys(data, sections, "Richtlinie")
    if "year" in data and integer(data["year"], "year") != year:
        raise PolicyError(f"year: {data['year']!r} passt nicht zum Förderjahr {year}")
    report = build(ReportPolicy, table(data.get("report", {}), "report"), "report", _report_readers())
    try:
        report.deadline(year)
    except ValueError:
        raise PolicyError(f"report: {report.deadline_day}.{report.deadline_month}.{year} ist kein Datum") from None
    _check_receipt_start(report, year)
    return YearPolicy(
        year=year,
        report=report,
        application_window=_parse_window(year, table(data.get("application_window", {}), "application_window")),
        meetings=build(MeetingPolicy, table(data.get("meetings", {}), "meetings"), "meetings", _meeting_readers()),
        funding=json_safe(table(data.get("funding", {}), "funding"), "funding"),
        decisions=build(DecisionPolicy, table(data.get("decisions", {}), "decisions"), "decisions",
                        {"four_eyes": boolean}),
        retention=build(RetentionPolicy, table(data.get("retention", {}), "retention"), "retention", _RETENTION),
    )  # fmt: skip


def policy_to_dict(policy: YearPolicy) -> dict[str, Any]:
    """A JSON-serialisable snapshot (dates as ISO strings) with ``parse_policy(year, snapshot) == policy``."""
    snapshot: dict[str, Any] = json_safe(policy, "policy")
    return snapshot


_RETENTION: dict[str, Reader] = {
    key: lambda x, w: integer_in(x, w, range(MAX_RETENTION_MONTHS + 1))
    for key in ("contacts_months", "email_bodies_months", "uploads_months")
}


def _report_readers() -> dict[str, Reader]:
    return {
        "deadline_month": lambda x, w: integer_in(x, w, range(1, 13)),
        "deadline_day": lambda x, w: integer_in(x, w, range(1, 32)),
        "move_deadline_if_weekend": boolean,
        "reminder_days_before": days_before,
        "overdue_days_after": days_after,
        "escalation_days_after": positive,
        "max_extension_days": lambda x, w: integer_in(x, w, range(1, MAX_EXTENSION_DAYS + 1)),
        "regular_receipt_from": month_day,
        "obligations": lambda x, w: enum_member(ObligationBasis, x, w),
        "escalation_cc": addresses,
        "portal_link_days_after_deadline": lambda x, w: integer_in(x, w, range(1, MAX_EXTENSION_DAYS + 1)),
        "attach_questionnaire_workbook": boolean,
    }


def _check_receipt_start(report: ReportPolicy, year: int) -> None:
    where = "report.regular_receipt_from"
    try:
        start = report.regular_receipt_start(year)
    except ValueError:
        raise PolicyError(f"{where}: {report.regular_receipt_from!r} ist im Jahr {year} kein Datum") from None
    if start > date(year, report.deadline_month, report.deadline_day):
        raise PolicyError(f"{where}: {start:%d.%m.%Y} liegt nach der Abgabefrist")


def _parse_window(year: int, data: Mapping[str, Any]) -> ApplicationWindowPolicy:
    readers: dict[str, Reader] = {
        "call_date": lambda x, w: day(x, w, year),
        "application_deadline": lambda x, w: day(x, w, year),
        "reminder_days_before": days_before,
        "late_applications": lambda x, w: enum_member(LateApplications, x, w),
    }
    defaults = {"call_date": date(year, 1, 15), "application_deadline": date(year, 3, 31)}
    window = build(ApplicationWindowPolicy, {**defaults, **data}, "application_window", readers)
    if window.call_date >= window.application_deadline:
        raise PolicyError("application_window: call_date muss vor application_deadline liegen")
    return window


def _meeting_readers() -> dict[str, Reader]:
    def series(x: Any, where: str) -> tuple[MeetingSeriesRule, ...]:
        rules = tuple(_series_rule(item, f"{where}[{i}]") for i, item in enumerate(items(x, where)))
        check_unique([rule.title for rule in rules], f"{where} (title)")
        return rules

    return {"reminder_days_before": days_before, "series": series}


def _series_rule(x: Any, where: str) -> MeetingSeriesRule:
    readers: dict[str, Reader] = {
        "type": lambda x, w: enum_member(MeetingType, x, w),
        "title": nonempty_text,
        "months": months,
        "weekday": lambda x, w: integer_in(x, w, range(7)),
        "nth": lambda x, w: integer_in(x, w, (1, 2, 3, 4, -1)),
        "start_time": clock_time,
        "end_time": clock_time,
        "organiser": lambda x, w: enum_member(Organiser, x, w),
        "location": lambda x, w: None if x is None else nonempty_text(x, w),
    }
    rule = build(MeetingSeriesRule, table(x, where), where, readers)
    if rule.start_time >= rule.end_time:
        raise PolicyError(f"{where}: start_time muss vor end_time liegen")
    return rule
