"""The reminder ladder for the 15-December deliverables (Jahresbericht, Fragebogen): a pure daily planner.

Each stage lies a number of days before (reminder) or after (overdue notice, escalation) a Kommune's due date;
a date that is no working day in Rheinland-Pfalz moves to the previous (before) or next (after) working day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import lru_cache, total_ordering

from kim_workflow.core.calendar import Direction, shift_to_working_day
from kim_workflow.core.domain import DeliverableKind
from kim_workflow.core.policy import ReportPolicy


class StageKind(StrEnum):
    REMINDER = "reminder"
    OVERDUE = "overdue"
    ESCALATION = "escalation"


_RANK = {StageKind.REMINDER: 0, StageKind.OVERDUE: 1, StageKind.ESCALATION: 2}


@total_ordering
@dataclass(frozen=True, slots=True)
class Stage:
    """One rung of the ladder, ``str()``-ed as ``"reminder-42"``, ``"overdue-7"``, ``"escalation-7"``.

    Stages order by their offset from the due date; at equal offset an overdue notice precedes the escalation.
    """

    kind: StageKind
    days: int

    def __post_init__(self) -> None:
        if self.days <= 0:
            raise ValueError(f"stage offset must be a positive number of days, not {self.days}")

    def __str__(self) -> str:
        return f"{self.kind.value}-{self.days}"

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Stage):
            return NotImplemented
        return self._key < other._key

    @classmethod
    def parse(cls, text: str) -> Stage:
        """The inverse of ``str()``; raise ``ValueError`` for anything else."""
        kind, _, days = text.rpartition("-")
        if not days.isdigit():
            raise ValueError(f"not a reminder stage: {text!r}")
        return cls(StageKind(kind), int(days))

    @property
    def _key(self) -> tuple[int, int]:
        return (-self.days if self.kind is StageKind.REMINDER else self.days, _RANK[self.kind])

    def date_for(self, due_date: date) -> date:
        """The working day this stage falls on for ``due_date``."""
        return _stage_date(self.kind, self.days, due_date)


@lru_cache(maxsize=4096)
def _stage_date(kind: StageKind, days: int, due_date: date) -> date:
    """Cached: a sweep asks this for every Kommune, and nearly all share one due date."""
    if kind is StageKind.REMINDER:
        return shift_to_working_day(due_date - timedelta(days=days), Direction.BACKWARD)
    return shift_to_working_day(due_date + timedelta(days=days), Direction.FORWARD)


SentStage = tuple[Stage, date]
"""A stage already sent to a Kommune, with the due date it was computed from."""


@dataclass(frozen=True, slots=True)
class DeliverableState:
    kind: DeliverableKind
    due_date: date
    received_on: date | None = None

    def outstanding_on(self, today: date) -> bool:
        """Not received by ``today`` (a late receipt counts as received; a future receipt date does not yet)."""
        return self.received_on is None or self.received_on > today


@dataclass(frozen=True, slots=True)
class KommuneDeliverables:
    ags: str
    name: str
    deliverables: tuple[DeliverableState, ...]
    sent: frozenset[SentStage] = frozenset()
    has_active_contact: bool = True


@dataclass(frozen=True, slots=True)
class PlannedReminder:
    """One email to a Kommune covering all its outstanding deliverables."""

    ags: str
    stage: Stage
    due_date: date
    outstanding: tuple[DeliverableKind, ...]
    planned_for: date


@dataclass(frozen=True, slots=True)
class EscalationEntry:
    ags: str
    name: str
    outstanding: tuple[DeliverableKind, ...]
    due_date: date
    has_active_contact: bool


@dataclass(frozen=True, slots=True)
class EscalationDigest:
    """One digest for the ministry listing every Kommune past its escalation date with something missing.

    ``due_dates`` are the due dates escalated for the first time: record them as sent (``escalation_sent_for``).
    """

    due_dates: tuple[date, ...]
    entries: tuple[EscalationEntry, ...]
    planned_for: date


@dataclass(frozen=True, slots=True)
class ReminderPlan:
    reminders: tuple[PlannedReminder, ...]
    escalation: EscalationDigest | None
    without_contact: tuple[str, ...]
    """AGS of Kommunen that are due a reminder but have no active contact (they get no ``PlannedReminder``)."""


def ladder(policy: ReportPolicy) -> tuple[Stage, ...]:
    """All stages of the policy in ladder order, the escalation last among equal offsets."""
    stages = [Stage(StageKind.REMINDER, n) for n in policy.reminder_days_before]
    stages += [Stage(StageKind.OVERDUE, n) for n in policy.overdue_days_after]
    return tuple(sorted([*stages, Stage(StageKind.ESCALATION, policy.escalation_days_after)]))


def ladder_dates(due_date: date, policy: ReportPolicy) -> list[tuple[Stage, date]]:
    """Each stage with the working day it falls on for ``due_date``, in ladder order."""
    return [(stage, stage.date_for(due_date)) for stage in ladder(policy)]


def latest_due_stage(due_date: date, policy: ReportPolicy, today: date) -> Stage | None:
    """The latest Kommune stage (not the escalation) whose day for ``due_date`` is ``today`` or earlier."""
    due = [s for s, day in ladder_dates(due_date, policy) if s.kind is not StageKind.ESCALATION and day <= today]
    return max(due) if due else None


def due_stage(due_date: date, policy: ReportPolicy, today: date, sent: frozenset[SentStage]) -> Stage | None:
    """The latest Kommune stage due by ``today``, unless it or a later one was already sent for ``due_date``."""
    latest = latest_due_stage(due_date, policy, today)
    if latest is None or any(stage >= latest for stage, sent_due in sent if sent_due == due_date):
        return None
    return latest


def outstanding(kommune: KommuneDeliverables, today: date) -> tuple[tuple[DeliverableKind, ...], date] | None:
    """The Kommune's outstanding kinds (in enum order) and the latest of their due dates; None if complete."""
    open_items = [d for d in kommune.deliverables if d.outstanding_on(today)]
    if not open_items:
        return None
    kinds = {d.kind for d in open_items}
    return tuple(k for k in DeliverableKind if k in kinds), max(d.due_date for d in open_items)


def plan_reminders(
    today: date,
    policy: ReportPolicy,
    kommunen: Iterable[KommuneDeliverables],
    escalation_sent_for: frozenset[date] = frozenset(),
) -> ReminderPlan:
    """What the daily sweep should send ``today``: at most one reminder per Kommune, and the escalation digest."""
    reminders: list[PlannedReminder] = []
    without_contact: list[str] = []
    escalation = Stage(StageKind.ESCALATION, policy.escalation_days_after)
    entries: list[EscalationEntry] = []
    for kommune in sorted(kommunen, key=lambda k: k.ags):
        state = outstanding(kommune, today)
        if state is None:
            continue
        kinds, due_date = state
        if escalation.date_for(due_date) <= today:
            entries.append(EscalationEntry(kommune.ags, kommune.name, kinds, due_date, kommune.has_active_contact))
        stage = due_stage(due_date, policy, today, kommune.sent)
        if stage is None:
            continue
        if kommune.has_active_contact:
            reminders.append(PlannedReminder(kommune.ags, stage, due_date, kinds, stage.date_for(due_date)))
        else:
            without_contact.append(kommune.ags)
    return ReminderPlan(tuple(reminders), _digest(entries, escalation, escalation_sent_for), tuple(without_contact))


def _digest(entries: list[EscalationEntry], escalation: Stage, sent_for: frozenset[date]) -> EscalationDigest | None:
    """A digest if some due date reached its escalation date and was not escalated yet."""
    new_due_dates = sorted({entry.due_date for entry in entries} - sent_for)
    if not new_due_dates:
        return None
    planned_for = max(escalation.date_for(d) for d in new_due_dates)
    return EscalationDigest(tuple(new_due_dates), tuple(entries), planned_for)
