"""The application window as a pure daily planner: the call for applications once, then reminders before the deadline.

From the call date to the deadline every Kommune without an application gets the call once; afterwards the
reminder stages (N days before the deadline, moved to the previous working day) go to those that still have not
applied. A late run catches up with the latest due stage only, and the day's call makes the stage due that day
redundant (it is recorded, not sent), so no Kommune gets two emails on consecutive days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from kim_workflow.core.policy import ApplicationWindowPolicy
from kim_workflow.core.reminders import Stage, StageKind

CALL = "call"
"""The ``stage`` under which the call for applications is logged."""


@dataclass(frozen=True, slots=True)
class WindowKommune:
    ags: str
    has_application: bool
    sent: frozenset[str] = frozenset()
    """Stages already logged for this Kommune and deadline: ``"call"`` and ``str(Stage)`` values."""


@dataclass(frozen=True, slots=True)
class WindowEmail:
    """One email for a Kommune: the call (``stage is None``) or a reminder; ``log`` lists the stages to record."""

    ags: str
    stage: Stage | None
    log: tuple[str, ...]

    @property
    def is_call(self) -> bool:
        return self.stage is None


def reminder_stages(window: ApplicationWindowPolicy) -> tuple[Stage, ...]:
    """The reminder stages in ladder order (earliest first)."""
    return tuple(sorted(Stage(StageKind.REMINDER, days) for days in window.reminder_days_before))


def due_reminder(window: ApplicationWindowPolicy, today: date, sent: frozenset[str]) -> Stage | None:
    """The latest reminder stage due by ``today``, unless it or a later one was already sent."""
    deadline = window.application_deadline
    due = [stage for stage in reminder_stages(window) if stage.date_for(deadline) <= today]
    if not due:
        return None
    latest = max(due)
    if any(str(stage) in sent for stage in reminder_stages(window) if stage >= latest):
        return None
    return latest


def plan_window(today: date, window: ApplicationWindowPolicy, kommunen: Iterable[WindowKommune]) -> list[WindowEmail]:
    """What to send ``today``: at most one email per Kommune, none before the call date or after the deadline."""
    if not window.call_date <= today <= window.application_deadline:
        return []
    planned = []
    for kommune in sorted(kommunen, key=lambda k: k.ags):
        if kommune.has_application:
            continue
        stage = due_reminder(window, today, kommune.sent)
        if CALL not in kommune.sent:
            planned.append(WindowEmail(kommune.ags, None, (CALL,) + ((str(stage),) if stage else ())))
        elif stage is not None:
            planned.append(WindowEmail(kommune.ags, stage, (str(stage),)))
    return planned
