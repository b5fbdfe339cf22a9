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

from kim_workflow.core.ladder import Ladder, Stage, before
from kim_workflow.core.policy import ApplicationWindowPolicy

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


def window_ladder(window: ApplicationWindowPolicy) -> Ladder:
    """The reminder stages before the application deadline."""
    return Ladder.of(before(window.reminder_days_before))


def due_reminder(window: ApplicationWindowPolicy, today: date, sent: frozenset[str]) -> Stage | None:
    """The latest reminder stage due by ``today``, unless it or a later one (of this policy) was already sent."""
    rungs = window_ladder(window)
    return rungs.due(window.application_deadline, today, [s for s in rungs.stages if str(s) in sent])


def covering(window: ApplicationWindowPolicy, today: date) -> tuple[str, ...] | None:
    """The logged stages that spare a Kommune today's reminder; ``None`` when no reminder is due yet."""
    return window_ladder(window).covering(window.application_deadline, today)


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
