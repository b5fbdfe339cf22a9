"""The 15-December deliverables (Jahresbericht, Fragebogen) on the one ladder (``core.ladder``): a pure planner.

The Kommune ladder (reminders before, overdue notices after the due date) compares stages by ladder order at
one due date; the escalation is a separate digest to the ministry per due date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from kim_workflow.core.domain import DeliverableKind
from kim_workflow.core.ladder import Ladder, Stage, StageKind, after, before
from kim_workflow.core.policy import ReportPolicy

__all__ = [  # Stage and StageKind re-exported: the deliverable ladder's stages are the one ladder's
    "DeliverableState",
    "EscalationDigest",
    "EscalationEntry",
    "KommuneDeliverables",
    "PlannedReminder",
    "ReminderPlan",
    "SentStage",
    "Stage",
    "StageKind",
    "due_stage",
    "kommune_ladder",
    "ladder",
    "ladder_dates",
    "outstanding",
    "plan_reminders",
]


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
    escalation = Stage(StageKind.ESCALATION, policy.escalation_days_after)
    return tuple(sorted([*kommune_ladder(policy).stages, escalation]))


def kommune_ladder(policy: ReportPolicy) -> Ladder:
    """The stages that go to a Kommune (reminders and overdue notices; the escalation goes to the ministry)."""
    return Ladder.of([*before(policy.reminder_days_before), *after(StageKind.OVERDUE, policy.overdue_days_after)])


def ladder_dates(due_date: date, policy: ReportPolicy) -> list[tuple[Stage, date]]:
    """Each stage with the working day it falls on for ``due_date``, in ladder order."""
    return [(stage, stage.date_for(due_date)) for stage in ladder(policy)]


def due_stage(due_date: date, policy: ReportPolicy, today: date, sent: frozenset[SentStage]) -> Stage | None:
    """The latest Kommune stage due by ``today``, unless it or a later one was already sent for ``due_date``."""
    return _due(kommune_ladder(policy), due_date, today, sent)


def _due(rungs: Ladder, due_date: date, today: date, sent: frozenset[SentStage]) -> Stage | None:
    return rungs.due(due_date, today, [stage for stage, sent_due in sent if sent_due == due_date])


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
    rungs = kommune_ladder(policy)
    entries: list[EscalationEntry] = []
    for kommune in sorted(kommunen, key=lambda k: k.ags):
        state = outstanding(kommune, today)
        if state is None:
            continue
        kinds, due_date = state
        if escalation.date_for(due_date) <= today:
            entries.append(EscalationEntry(kommune.ags, kommune.name, kinds, due_date, kommune.has_active_contact))
        stage = _due(rungs, due_date, today, kommune.sent)
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
